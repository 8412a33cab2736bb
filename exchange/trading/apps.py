from __future__ import annotations

import logging
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


def _on_version_released(sender: Any, version: Any, **kwargs: Any) -> None:
    # Sent after the approval committed. A failure here must not break the approval: the beat job
    # trading.notify_subscribers catches up (the marker row makes it run once either way).
    from exchange.trading.services import notify_version_released

    try:
        notify_version_released(version)
    except Exception:
        logger.exception("subscription notice for version %s failed; beat will retry", version.pk)


def _on_licence_revoked(sender: Any, licence: Any, reason: str, **kwargs: Any) -> None:
    # Inside the revoking transaction: the webhook rows commit with the revocation or not at all.
    from exchange.trading.services import announce_licence_revoked

    announce_licence_revoked(licence, reason)


class TradingConfig(AppConfig):
    name = "exchange.trading"
    label = "trading"
    verbose_name = _("Trading")

    def ready(self) -> None:
        from django.core import checks

        from exchange.trading.webhook_secrets import check_keys
        from licensing.signals import licence_revoked
        from listings.signals import version_released

        version_released.connect(_on_version_released, dispatch_uid="trading-version-released")
        licence_revoked.connect(_on_licence_revoked, dispatch_uid="trading-licence-revoked")
        checks.register(check_keys)
