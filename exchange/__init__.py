"""The platform: project wiring and the trading domain."""

from exchange.celery import app as celery_app

__all__ = ["celery_app"]
