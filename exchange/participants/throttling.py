from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from exchange.participants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (not per user or IP): one runaway trading script cannot starve others.

    Over the limit the API answers 429 in its error format with `Retry-After` (whole seconds)."""

    scope = "api_key"

    def get_rate(self) -> str | None:
        # DRF binds THROTTLE_RATES to the settings at import. Unless a subclass or test replaced
        # it, read the current settings, so a changed REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        # (override_settings, pytest's settings fixture) applies at once.
        rates: dict[str, Any] = self.THROTTLE_RATES
        if rates is SimpleRateThrottle.THROTTLE_RATES:
            rates = api_settings.DEFAULT_THROTTLE_RATES or {}
        if self.scope not in rates:
            return super().get_rate()
        rate = rates[self.scope]
        return None if rate is None else str(rate)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        return None
