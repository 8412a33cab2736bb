"""Object storage: two areas (quarantine, published) on a local folder or any S3 store.

    from exchange.storage import Area, get_storage
    storage = get_storage()
    info = storage.put_stream(Area.PUBLISHED, key, fileobj)
    url = storage.download_url(Area.PUBLISHED, key, filename="data.csv")  # minutes, not hours

The backend is chosen by settings.STORAGE_BACKEND ("local" or "s3"). boto3 is imported only by
exchange.storage.s3, and only when that backend is used.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings

from .base import (
    Area,
    AreaAccessDenied,
    InvalidKey,
    InvalidUpload,
    LinkLifetimeError,
    ObjectChanged,
    ObjectInfo,
    ObjectNotFound,
    ObjectStat,
    ObjectStorage,
    PresignedPost,
    QuarantineAccessDenied,
    StorageError,
    StorageUnavailable,
    UploadedPart,
    validate_key,
)

__all__ = [
    "Area",
    "AreaAccessDenied",
    "InvalidKey",
    "InvalidUpload",
    "LinkLifetimeError",
    "ObjectChanged",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStat",
    "ObjectStorage",
    "PresignedPost",
    "QuarantineAccessDenied",
    "StorageError",
    "StorageUnavailable",
    "UploadedPart",
    "get_storage",
    "reset_storage_cache",
    "validate_key",
]

# Every setting that shapes the storage object: a change to any of them (tests use
# pytest-django's `settings` fixture) yields a fresh instance instead of a stale one.
_SETTING_NAMES = (
    "STORAGE_BACKEND",
    "STORAGE_LOCAL_ROOT",
    "STORAGE_LOCAL_BASE_URL",
    "SITE_URL",
    "S3_ENDPOINT_URL",
    "S3_PUBLIC_ENDPOINT_URL",
    "S3_REGION",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_QUARANTINE_BUCKET",
    "S3_PUBLISHED_BUCKET",
    "S3_ADDRESSING_STYLE",
    "STORAGE_MULTIPART_THRESHOLD",
    "STORAGE_MULTIPART_CHUNK",
    "STORAGE_MULTIPART_CONCURRENCY",
)

_lock = threading.Lock()
_cache: dict[tuple[Any, ...], ObjectStorage] = {}


def _build() -> ObjectStorage:
    backend = getattr(settings, "STORAGE_BACKEND", "local")
    if backend == "local":
        from .local import LocalObjectStorage

        base_url = getattr(settings, "STORAGE_LOCAL_BASE_URL", None)
        if base_url is None:
            base_url = getattr(settings, "SITE_URL", "")
        return LocalObjectStorage(settings.STORAGE_LOCAL_ROOT, base_url=str(base_url or ""))
    if backend == "s3":
        from .s3 import S3ObjectStorage  # boto3 is loaded only when S3 is in use

        return S3ObjectStorage(
            endpoint_url=settings.S3_ENDPOINT_URL or None,
            region=settings.S3_REGION,
            access_key_id=settings.S3_ACCESS_KEY_ID or None,
            secret_access_key=settings.S3_SECRET_ACCESS_KEY or None,
            quarantine_bucket=settings.S3_QUARANTINE_BUCKET,
            published_bucket=settings.S3_PUBLISHED_BUCKET,
            addressing_style=settings.S3_ADDRESSING_STYLE,
            multipart_threshold=int(settings.STORAGE_MULTIPART_THRESHOLD),
            multipart_chunk=int(settings.STORAGE_MULTIPART_CHUNK),
            max_concurrency=int(getattr(settings, "STORAGE_MULTIPART_CONCURRENCY", 4)),
            public_endpoint_url=getattr(settings, "S3_PUBLIC_ENDPOINT_URL", "") or None,
        )
    raise StorageError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")


def get_storage() -> ObjectStorage:
    """The storage for the current settings (one shared, thread-safe instance per config)."""
    key = tuple(str(getattr(settings, name, None)) for name in _SETTING_NAMES)
    with _lock:
        storage = _cache.get(key)
        if storage is None:
            # Only the current configuration is kept: settings rarely change outside tests,
            # and old S3 clients would hold their connection pools forever.
            _cache.clear()
            storage = _cache[key] = _build()
        return storage


def reset_storage_cache() -> None:
    """Forget built storages (tests; after credentials rotate)."""
    with _lock:
        _cache.clear()
