from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig

logger = logging.getLogger(__name__)


def _on_version_released(sender: Any, version: Any, **kwargs: Any) -> None:
    # Sent after the approval committed. A failure here must not break the approval: the beat job
    # trading.notify_subscribers catches up (the marker row makes it run once either way).
    from exchange.trading.services import notify_version_released

    try:
        notify_version_released(version)
    except Exception:
        logger.exception("subscription notice for version %s failed; beat will retry", version.pk)


class TradingConfig(AppConfig):
    name = "exchange.trading"
    label = "trading"

    def ready(self) -> None:
        from listings.signals import version_released

        version_released.connect(_on_version_released, dispatch_uid="trading-version-released")
