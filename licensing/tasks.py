"""Periodic licensing work (thin: the service does the claiming and auditing)."""

from __future__ import annotations

from typing import Any

from exchange.celery import app
from exchange.tasks_base import GuardedTask
from licensing import services


@app.task(base=GuardedTask, bind=True, name="licensing.expire_due_licences")
def expire_due_licences(self: Any) -> int:
    """Beat: mark licences whose term has ended as expired. Safe to run concurrently and again."""
    return services.expire_due_licences()
