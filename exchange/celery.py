"""Celery wiring.

Every choice here is about not losing or duplicating work:
- acks_late + task_reject_on_worker_lost: a message is acknowledged only after its task finished,
  so a worker killed mid-task gives the message back to the broker and another worker reruns it.
  Tasks must therefore be idempotent (status guards, fixed output keys).
- prefetch 1: a worker holds at most one unacknowledged message beyond the one it runs, so a crash
  strands little and long pipeline tasks do not queue behind each other on one worker.
- visibility timeout > hard time limit: Redis redelivers unacknowledged messages after the
  visibility timeout; if that were shorter than a task may legitimately run, a healthy long task
  would be run twice.
- a redelivery cap (see exchange.tasks_base.GuardedTask): a message that kills its worker every
  time (a poison file) must end as failed, not loop forever.
- JSON only: no pickle from the broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange.settings")

app = Celery("exchange")


def configure(celery_app: Celery) -> None:
    from django.conf import settings

    broker_options: dict[str, object] = {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = settings.CELERY_FILESYSTEM_FOLDER
        for sub in ("out", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        broker_options.update(
            {
                "data_folder_in": str(folder / "out"),
                "data_folder_out": str(folder / "out"),
                "processed_folder": str(folder / "processed"),
                # Broadcast (pidbox) tables; kombu's default is ./control in the working directory.
                "control_folder": str(folder / "control"),
                "store_processed": False,
            }
        )
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        os.makedirs(settings.CELERY_RESULT_BACKEND.removeprefix("file://"), exist_ok=True)

    celery_app.conf.update(
        broker_url=settings.CELERY_BROKER_URL,
        result_backend=settings.CELERY_RESULT_BACKEND,
        broker_transport_options=broker_options,
        result_backend_transport_options={"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.CELERY_TASK_TIME_LIMIT,
        task_soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
        task_always_eager=settings.CELERY_TASK_ALWAYS_EAGER,
        task_eager_propagates=True,
        task_track_started=True,
        result_expires=24 * 3600,
        timezone=settings.TIME_ZONE,
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule=getattr(settings, "CELERY_BEAT_SCHEDULE", {}),
    )


configure(app)
app.autodiscover_tasks()
