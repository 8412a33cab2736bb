"""Uploads: starting them (presigned or streamed), completing them, and the pipeline's state.

Each write is one transaction with its audit event. The pipeline itself (tasks.py → runner.py)
only moves an upload forward through conditional updates, so a redelivered task that finds the
work done or claimed elsewhere does nothing.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from exchange.audit.services import record
from exchange.participants.models import Organisation, User
from exchange.participants.services import ensure_not_frozen, membership_of
from exchange.storage import Area, StorageError, get_storage
from listings.cleaning import load_policy
from listings.cleaning.errors import CleaningError
from listings.models import ListingVersion
from listings.pipeline import conf
from listings.pipeline.models import DatasetKey, Upload
from listings.pipeline.validation import Rejection, split_extension

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
MAX_PARTS = 10_000  # the S3 protocol's limit


def display_name(filename: str) -> str:
    """The seller's file name made safe to show: no path, no control or shell characters."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip(". ") or "upload"
    return cleaned[:200]


@dataclass
class UploadInstructions:
    """How the client sends the bytes: one presigned PUT, or presigned parts."""

    method: str  # "PUT" (single) or "MULTIPART"
    url: str | None = None
    part_size: int | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    expires_in: int = 0


def _require_seller(actor: User, organisation: Organisation, version: ListingVersion) -> None:
    if version.listing.seller_id != organisation.pk:
        raise PermissionDenied(gettext("Only the listing's seller may upload files for it."))
    if membership_of(actor, organisation) is None:
        raise PermissionDenied(gettext("You are not a member of the selling organisation."))
    ensure_not_frozen(organisation, gettext_noop("upload data"))


def _check_version_open(version: ListingVersion) -> None:
    if version.status != ListingVersion.Status.DRAFT:
        raise ValidationError({"version": gettext("files can be uploaded only to a draft version")})
    if version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED:
        raise ValidationError(
            {
                "version": gettext(
                    "this version is already published; create a new version for new data"
                )
            }
        )
    busy = version.uploads.filter(
        status__in=[Upload.Status.UPLOADED, Upload.Status.PROCESSING]
    ).exists()
    if busy:
        raise ValidationError(
            {"version": gettext("a file for this version is being processed; wait for it")}
        )


def _check_policy(policy: dict[str, Any] | None) -> None:
    if policy is None:
        return
    try:
        load_policy(policy)
    except CleaningError as exc:
        raise ValidationError({"policy": str(exc)}) from None


def dataset_secret(version: ListingVersion) -> bytes:
    """The listing's pseudonym key, derived from the master key and the listing's salt."""
    import hashlib
    import hmac

    key, _ = DatasetKey.objects.get_or_create(
        listing_id=version.listing_id, defaults={"salt": secrets.token_hex(32)}
    )
    return hmac.new(conf.pseudonym_master_key(), key.salt.encode(), hashlib.sha256).digest()


@transaction.atomic
def start_upload(
    *,
    actor: User,
    organisation: Organisation,
    version: ListingVersion,
    filename: str,
    size: int,
    content_type: str | None = None,
    policy: dict[str, Any] | None = None,
) -> tuple[Upload, UploadInstructions]:
    """Register an upload and hand out presigned URLs into quarantine."""
    version = (
        ListingVersion.objects.select_for_update().select_related("listing").get(pk=version.pk)
    )
    _require_seller(actor, organisation, version)
    _check_version_open(version)
    _check_policy(policy)
    try:
        fmt, archive = split_extension(filename)
    except Rejection as exc:
        raise ValidationError({"filename": exc.reason}) from None
    limit = conf.max_upload_bytes()
    if size <= 0:
        raise ValidationError({"size": gettext("must be the file's size in bytes, above zero")})
    if size > limit:
        raise ValidationError(
            {"size": gettext("at most %(mb)d MB per file") % {"mb": limit // 1024**2}}
        )
    upload_id = uuid.uuid4()
    upload = Upload.objects.create(
        id=upload_id,
        version=version,
        organisation=organisation,
        created_by=actor,
        display_name=display_name(filename),
        format=fmt or "zip",
        archive=archive or "",
        declared_size=size,
        quarantine_key=f"uploads/{version.pk}/{upload_id}",
        policy=policy,
        language=(translation.get_language() or "")[:16],
    )
    storage = get_storage()
    if size > conf.multipart_threshold():
        part_size = max(conf.multipart_part_bytes(), math.ceil(size / MAX_PARTS))
        upload.multipart_upload_id = storage.create_multipart(upload.quarantine_key)
        upload.save(update_fields=["multipart_upload_id"])
        count = math.ceil(size / part_size)
        instructions = UploadInstructions(
            method="MULTIPART",
            part_size=part_size,
            parts=[
                {
                    "part_number": n,
                    "url": storage.part_upload_url(
                        upload.quarantine_key, upload.multipart_upload_id, n
                    ),
                }
                for n in range(1, count + 1)
            ],
            expires_in=int(_upload_ttl()),
        )
    else:
        instructions = UploadInstructions(
            method="PUT",
            url=storage.upload_url(upload.quarantine_key),
            expires_in=int(_upload_ttl()),
        )
    record(
        "upload.started",
        upload,
        actor=actor,
        organisation=organisation,
        changes={"version_id": version.pk, "format": upload.format, "declared_size": size},
    )
    return upload, instructions


def _upload_ttl() -> int:
    from django.conf import settings

    return int(settings.UPLOAD_LINK_TTL_SECONDS)


def resume_parts(upload: Upload) -> dict[str, Any]:
    """For an interrupted multipart upload: the parts already received and fresh URLs for the
    rest, so a failed part is retried alone, not the whole file."""
    if not upload.multipart_upload_id or upload.status != Upload.Status.AWAITING:
        raise ValidationError(
            {"upload": gettext("only an unfinished multipart upload can be resumed")}
        )
    storage = get_storage()
    done = storage.list_parts(upload.quarantine_key, upload.multipart_upload_id)
    part_size = max(conf.multipart_part_bytes(), math.ceil(upload.declared_size / MAX_PARTS))
    count = math.ceil(upload.declared_size / part_size)
    received = {p.part_number for p in done}
    return {
        "received": [{"part_number": p.part_number, "etag": p.etag, "size": p.size} for p in done],
        "part_size": part_size,
        "missing": [
            {
                "part_number": n,
                "url": storage.part_upload_url(
                    upload.quarantine_key, upload.multipart_upload_id, n
                ),
            }
            for n in range(1, count + 1)
            if n not in received
        ],
    }


@transaction.atomic
def complete_upload(
    *, actor: User, upload: Upload, parts: list[tuple[int, str]] | None = None
) -> Upload:
    """The client says the bytes are in quarantine: check them and start the pipeline."""
    locked = Upload.objects.select_for_update().select_related("version__listing").get(pk=upload.pk)
    if locked.status != Upload.Status.AWAITING:
        return locked  # completing twice is harmless: the first completion stands
    _require_seller(actor, locked.organisation, locked.version)
    storage = get_storage()
    if locked.multipart_upload_id:
        if not parts:
            parts = [
                (p.part_number, p.etag)
                for p in storage.list_parts(locked.quarantine_key, locked.multipart_upload_id)
            ]
        try:
            storage.complete_multipart(locked.quarantine_key, locked.multipart_upload_id, parts)
        except StorageError:
            raise ValidationError(
                {"parts": gettext("the parts could not be assembled; resume the upload and retry")}
            ) from None
    try:
        size = storage.size(Area.QUARANTINE, locked.quarantine_key)
    except StorageError:
        raise ValidationError(
            {"upload": gettext("no file has arrived for this upload yet")}
        ) from None
    if size > conf.max_upload_bytes() or size > locked.declared_size:
        storage.delete(Area.QUARANTINE, locked.quarantine_key)
        raise ValidationError(
            {
                "size": gettext(
                    "the file (%(bytes)d bytes) is larger than declared or allowed; it was removed"
                )
                % {"bytes": size}
            }
        )
    return _accept(locked, actor, size)


def _accept(upload: Upload, actor: User, size: int) -> Upload:
    from listings.pipeline.tasks import process_upload

    upload.size = size
    upload.status = Upload.Status.UPLOADED
    upload.stage = Upload.Stage.VALIDATE
    upload.progress = 0.0
    upload.save(update_fields=["size", "status", "stage", "progress", "updated_at"])
    record(
        "upload.completed",
        upload,
        actor=actor,
        organisation=upload.organisation_id,
        changes={"size": size},
    )
    process_upload.delay_on_commit(str(upload.pk))
    return upload


@transaction.atomic
def receive_small_upload(
    *,
    actor: User,
    organisation: Organisation,
    version: ListingVersion,
    filename: str,
    fileobj: Any,
    size: int,
    policy: dict[str, Any] | None = None,
) -> Upload:
    """A plain upload through the web tier for small files: streamed into quarantine."""
    limit = min(conf.max_upload_bytes(), conf.multipart_threshold())
    if size > limit:
        raise ValidationError(
            {
                "file": gettext("files above %(mb)d MB go through the direct upload")
                % {"mb": limit // 1024**2}
            }
        )
    upload, _ = start_upload(
        actor=actor,
        organisation=organisation,
        version=version,
        filename=filename,
        size=size,
        policy=policy,
    )
    info = get_storage().put_stream(Area.QUARANTINE, upload.quarantine_key, fileobj)
    if info.size > limit:
        get_storage().delete(Area.QUARANTINE, upload.quarantine_key)
        raise ValidationError({"file": gettext("the file is larger than declared")})
    return _accept(upload, actor, info.size)


# --- state changes the pipeline makes -----------------------------------------------------------


def claim(upload_id: str) -> bool:
    """Move an uploaded file into processing. True for exactly one caller; a redelivered task
    whose upload is already processing may continue (it is the same job coming back)."""
    updated = Upload.objects.filter(pk=upload_id, status=Upload.Status.UPLOADED).update(
        status=Upload.Status.PROCESSING, updated_at=timezone.now()
    )
    if updated:
        return True
    return Upload.objects.filter(pk=upload_id, status=Upload.Status.PROCESSING).exists()


def set_stage(upload_id: str, stage: str, progress: float = 0.0) -> None:
    Upload.objects.filter(pk=upload_id, status=Upload.Status.PROCESSING).update(
        stage=stage, progress=round(min(max(progress, 0.0), 1.0), 4), updated_at=timezone.now()
    )


@transaction.atomic
def finish_rejected(upload_id: str, code: str, reason: str) -> None:
    _finish(upload_id, Upload.Status.REJECTED, code, reason)


@transaction.atomic
def finish_failed(upload_id: str, code: str, reason: str) -> None:
    _finish(upload_id, Upload.Status.FAILED, code, reason)


def _finish(upload_id: str, status: str, code: str, reason: str) -> None:
    from listings.services import mark_version_failed

    upload = Upload.objects.select_for_update().filter(pk=upload_id).first()
    if upload is None or upload.is_finished:
        return
    upload.status = status
    upload.error_code = code[:40]
    upload.error_reason = reason
    upload.finished_at = timezone.now()
    upload.save(update_fields=["status", "error_code", "error_reason", "finished_at", "updated_at"])
    mark_version_failed(upload.version, reason)
    record(
        f"upload.{status}",
        upload,
        organisation=upload.organisation_id,
        changes={"code": code, "reason": reason},
    )


def safe_filename(upload: Upload, fmt: str) -> str:
    """The published file's name: derived from the listing and version, never the upload's."""
    version = upload.version
    stem = os.path.splitext(upload.display_name)[0]
    stem = re.sub(r"[^\w\-]+", "-", stem).strip("-")[:60] or "data"
    return f"{stem}-v{version.number}.{fmt}"
