"""Pipeline settings, read from Django settings with their defaults (documented in .env.example)."""

from __future__ import annotations

from django.conf import settings

from listings.pipeline.validation import Limits


def max_upload_bytes() -> int:
    return int(getattr(settings, "UPLOAD_MAX_BYTES", 5 * 1024**3))


def chunk_bytes() -> int:
    """Text files larger than this are split at record boundaries and cleaned in parallel."""
    return int(getattr(settings, "PIPELINE_CHUNK_BYTES", 64 * 1024**2))


def multipart_threshold() -> int:
    """Uploads above this go as presigned multipart (parts retried alone, resumable)."""
    return int(getattr(settings, "UPLOAD_MULTIPART_THRESHOLD", 64 * 1024**2))


def multipart_part_bytes() -> int:
    return int(getattr(settings, "UPLOAD_PART_BYTES", 16 * 1024**2))


def keep_quarantine_seconds() -> int:
    """How long the raw upload stays in quarantine after publishing (0: deleted at once)."""
    return int(getattr(settings, "QUARANTINE_RETENTION_SECONDS", 0))


def pseudonym_master_key() -> bytes:
    key = getattr(settings, "PSEUDONYM_MASTER_KEY", "") or settings.SECRET_KEY
    return str(key).encode()


def limits() -> Limits:
    return Limits(
        max_bytes=max_upload_bytes(),
        max_field_bytes=int(getattr(settings, "UPLOAD_MAX_FIELD_BYTES", 1024 * 1024)),
        max_columns=int(getattr(settings, "UPLOAD_MAX_COLUMNS", 2000)),
        max_rows=int(getattr(settings, "UPLOAD_MAX_ROWS", 100_000_000)),
        max_archive_ratio=int(getattr(settings, "UPLOAD_MAX_ARCHIVE_RATIO", 100)),
        max_archive_entries=int(getattr(settings, "UPLOAD_MAX_ARCHIVE_ENTRIES", 10)),
        max_seconds=float(getattr(settings, "UPLOAD_VALIDATION_SECONDS", 1800)),
    )
