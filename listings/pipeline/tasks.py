"""Pipeline tasks: thin. Fetch by id, call the runner, translate outcomes into upload states.

process_upload(id)  → claim, prepare (validate, profile, plan chunks) → chord of clean_chunk(id, i)
clean_chunk(id, i)  → anonymise one chunk
publish_upload(_, id) → join outputs, publish, finish

Failures: a bad file (Rejection, CleaningError) ends the upload as rejected with its reason; a
transient error (database, storage) is retried with backoff by GuardedTask; anything else, a
time limit, or a message redelivered past the cap ends it as failed. Either way nothing stays
published.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import chord
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy
from django_stubs_ext import StrOrPromise

from exchange.celery import app
from exchange.storage import StorageUnavailable
from exchange.tasks_base import TRANSIENT_ERRORS, GuardedTask
from listings.cleaning import CleaningError
from listings.pipeline import conf, runner, services
from listings.pipeline.models import Upload
from listings.pipeline.validation import Rejection

logger = logging.getLogger(__name__)

RETRYABLE = (*TRANSIENT_ERRORS, StorageUnavailable)


class PipelineTask(GuardedTask):
    abstract = True
    autoretry_for = RETRYABLE

    def on_poison(self, *args: Any, **kwargs: Any) -> None:
        upload_id = args[0] if args else kwargs.get("upload_id")
        fail(
            str(upload_id),
            "redelivered",
            gettext_lazy("processing kept crashing on this file; it was stopped"),
        )

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        # Reached when retries are exhausted or an unexpected error escaped: end the upload.
        upload_id = args[0] if args else kwargs.get("upload_id")
        if upload_id:
            fail(
                str(upload_id),
                "internal",
                gettext_lazy("the platform could not finish processing this file"),
            )


@contextmanager
def uploaders_language(upload_id: str) -> Iterator[None]:
    """Word what is recorded about an upload (refusals, failures) in its uploader's language."""
    language = Upload.objects.filter(pk=upload_id).values_list("language", flat=True).first()
    with translation.override(language or settings.LANGUAGE_CODE):
        yield


def fail(upload_id: str, code: str, reason: StrOrPromise) -> None:
    with uploaders_language(upload_id):
        _fail(upload_id, code, str(reason))


def _fail(upload_id: str, code: str, reason: str) -> None:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or upload.is_finished:
        return
    try:
        runner.discard_outputs(upload)
    except Exception:
        logger.exception("upload %s: could not discard outputs after failure", upload_id)
    services.finish_failed(upload_id, code, reason)
    _purge_if_due(upload)


def reject(upload_id: str, code: str, reason: str) -> None:
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is not None:
        runner.discard_outputs(upload)
    services.finish_rejected(upload_id, code, reason)
    if upload is not None:
        _purge_if_due(upload)


def _purge_if_due(upload: Upload) -> None:
    # With no retention, a refused file leaves quarantine as soon as the refusal is recorded.
    if conf.keep_quarantine_seconds() == 0:
        runner.purge_raw(upload)


def _guarded(upload_id: str, step: Any) -> Any:
    """Run a step, turning the file's faults into a rejection and a time limit into a failure.

    The step runs in the uploader's language, so a refusal is worded in it where it is made."""
    with uploaders_language(upload_id):
        try:
            return step()
        except Rejection as exc:
            reject(upload_id, exc.code, str(exc))
        except CleaningError as exc:
            # The engine is Django-free: its messages stay English.
            reject(upload_id, "cleaning", str(exc))
        except SoftTimeLimitExceeded:
            fail(
                upload_id,
                "timeout",
                gettext_lazy("processing took longer than the time allowed for one file"),
            )
    return None


@app.task(base=PipelineTask, bind=True, name="pipeline.process_upload")
def process_upload(self: PipelineTask, upload_id: str) -> None:
    if not services.claim(upload_id):
        return  # finished or never completed: nothing to do
    upload = Upload.objects.select_related("version").get(pk=upload_id)
    from listings.services import mark_version_processing

    mark_version_processing(upload.version)
    count = _guarded(upload_id, lambda: runner.prepare(upload))
    if count is None:
        return
    # The chord's callback runs once every chunk is clean; chunks run on any free worker.
    chord(clean_chunk.si(upload_id, i) for i in range(count))(publish_upload.si(upload_id))


@app.task(base=PipelineTask, bind=True, name="pipeline.clean_chunk")
def clean_chunk(self: PipelineTask, upload_id: str, index: int) -> None:
    upload = Upload.objects.select_related("version").get(pk=upload_id)
    if upload.status != Upload.Status.PROCESSING:
        return
    _guarded(upload_id, lambda: runner.clean_chunk(upload, index))


@app.task(base=PipelineTask, bind=True, name="pipeline.publish_upload")
def publish_upload(self: PipelineTask, upload_id: str) -> None:
    upload = Upload.objects.select_related("version").get(pk=upload_id)
    if upload.status != Upload.Status.PROCESSING:
        return
    if _guarded(upload_id, lambda: runner.publish(upload)) is None:
        return
    with transaction.atomic():
        updated = Upload.objects.filter(pk=upload_id, status=Upload.Status.PROCESSING).update(
            status=Upload.Status.PUBLISHED,
            stage=Upload.Stage.DONE,
            progress=1.0,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if updated:
            from exchange.audit.services import record

            record(
                "upload.published",
                ("pipeline.upload", upload_id),
                organisation=upload.organisation_id,
                changes={"version_id": upload.version_id},
            )
    runner.discard_quarantine(upload)


@app.task(base=GuardedTask, name="pipeline.purge_expired_quarantine")
def purge_expired_quarantine() -> int:
    """Beat: raw uploads leave quarantine once their retention has passed."""
    return runner.purge_expired_quarantine()
