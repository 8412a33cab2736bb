from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from exchange.participants.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (not per user or IP): one runaway trading script cannot starve others."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        return None
