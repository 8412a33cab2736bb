"""The platform: project wiring and the trading domain."""

from typing import Any

__all__ = ["celery_app"]


def __getattr__(name: str) -> Any:
    # Loaded on first use, not at import: `exchange.celery` reads Django settings, and the API
    # client (exchange.client) must import without Django. Every task module imports
    # exchange.celery itself, and `celery -A exchange` finds exchange.celery.app on its own.
    if name == "celery_app":
        from exchange.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
