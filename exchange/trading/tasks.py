"""Thin tasks: webhook sends, and the beat jobs (auto-accept, webhook catch-up, subscription
notices). Each beat job claims its rows (SKIP LOCKED, a conditional UPDATE or a marker INSERT), so
two schedulers running at once never act twice."""

from __future__ import annotations

import logging
from typing import Any

from exchange.celery import app
from exchange.tasks_base import GuardedTask

logger = logging.getLogger(__name__)


@app.task(base=GuardedTask, bind=True, name="trading.deliver_webhook")
def deliver_webhook(self: Any, delivery_id: str) -> str:
    """One attempt; a failure schedules the next one with exponential backoff (a new message
    with a countdown; the beat job re-enqueues any that got lost)."""
    from exchange.trading import webhooks

    result = webhooks.attempt_delivery(delivery_id)
    if result is None:
        return "skipped"
    if result.retry_in is not None:
        deliver_webhook.apply_async(args=(delivery_id,), countdown=result.retry_in)
        return f"retry in {result.retry_in}s"
    return "delivered" if result.delivered else "failed"


@app.task(base=GuardedTask, bind=True, name="trading.retry_webhooks")
def retry_webhooks(self: Any) -> int:
    """Re-enqueue deliveries whose retry is overdue (each claimed by a conditional UPDATE)."""
    from django.utils import timezone

    from exchange.trading import webhooks

    claimed = webhooks.claim_overdue(timezone.now())
    for delivery_id in claimed:
        deliver_webhook.delay(delivery_id)
    return len(claimed)


@app.task(base=GuardedTask, bind=True, name="trading.auto_accept_due_orders")
def auto_accept_due_orders(self: Any) -> int:
    from exchange.trading import services

    return services.auto_accept_due_orders()


@app.task(base=GuardedTask, bind=True, name="trading.notify_subscribers")
def notify_subscribers(self: Any) -> int:
    """Catch-up for new versions under subscriptions (the version_released signal usually does it
    at once; this covers a crash between approval and notification)."""
    from exchange.trading import services

    return services.notify_recent_versions()
