"""Thin tasks: fetch by id, call the provider or a service."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from exchange.celery import app
from exchange.tasks_base import GuardedTask

logger = logging.getLogger(__name__)


@app.task(base=GuardedTask, bind=True)
def submit_withdrawal(self: Any, withdrawal_id: int) -> None:
    """Hand a committed withdrawal to the provider. Providers send provider_reference as their
    idempotency key, so a retried or redelivered task pays out once."""
    from exchange.ledger.models import Withdrawal
    from exchange.ledger.payments import get_provider

    withdrawal = Withdrawal.objects.filter(pk=withdrawal_id, status="pending").first()
    if withdrawal is None:
        return
    provider = get_provider()
    if withdrawal.provider == provider.name:
        provider.submit_withdrawal(withdrawal)


@app.task(base=GuardedTask, bind=True)
def purge_idempotency_keys(self: Any) -> int:
    """Delete idempotency records past their expiry (kept at least IDEMPOTENCY_KEY_TTL_HOURS)."""
    from exchange.ledger.idempotency import purge_expired

    return purge_expired(timezone.now())


@app.task(base=GuardedTask, bind=True)
def verify_ledger(self: Any) -> bool:
    """The nightly `ledger_check`: logs an error naming the first problem (alerting picks it up)."""
    from exchange.ledger.checks import check_ledger

    report = check_ledger()
    if not report.ok:
        logger.error("ledger check failed: %s", "; ".join(report.problems[:5]))
    return report.ok
