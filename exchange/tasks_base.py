"""The base class of every task: retries with backoff for transient errors, a redelivery cap."""

from __future__ import annotations

import logging
from typing import Any

from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

logger = logging.getLogger(__name__)

# Errors worth retrying: the database or the object store was briefly unreachable.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (DatabaseError, ConnectionError, TimeoutError)


class RedeliveryCapExceeded(Exception):
    """The same message came back more often than CELERY_MAX_REDELIVERIES allows."""


class GuardedTask(DjangoTask):
    """A task enqueued with delay_on_commit, so never before the caller's transaction commits.

    Counts deliveries of a message; past the cap, calls on_poison() and stops.

    Counting happens in the shared cache keyed by the task id: a redelivered message (worker
    killed, acks_late) keeps its id, so the count survives the crash that caused it.
    """

    abstract = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5

    def deliveries(self) -> int:
        task_id = self.request.id
        if not task_id:
            return 1
        key = f"task-deliveries:{task_id}"
        cache.add(key, 0, timeout=7 * 24 * 3600)
        return int(cache.incr(key))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        count = self.deliveries()
        if count > settings.CELERY_MAX_REDELIVERIES + 1 + self.request.retries:
            logger.error("task %s id %s exceeded its redelivery cap", self.name, self.request.id)
            self.on_poison(*args, **kwargs)
            return None
        if redelivered:
            logger.warning(
                "task %s id %s redelivered (delivery %d)", self.name, self.request.id, count
            )
        return super().__call__(*args, **kwargs)

    def on_poison(self, *args: Any, **kwargs: Any) -> None:
        """Mark the work as failed for good. Tasks that own a status row override this."""
