"""API-key authentication for automated traders: `Authorization: Api-Key dx_<prefix>_<secret>`."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from exchange.participants.models import ApiKey
from exchange.participants.services import parse_api_token, touch_api_key

KEYWORDS = ("api-key", "bearer")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticates as the key's creator acting for the key's organisation (request.auth)."""

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, token = header.partition(" ")
        if keyword.lower() not in KEYWORDS:
            return None
        parsed = parse_api_token(token.strip())
        if parsed is None:
            raise exceptions.AuthenticationFailed("Malformed API key.")
        prefix, full = parsed
        key = (
            ApiKey.objects.select_related("organisation", "created_by")
            .filter(prefix=prefix)
            .first()
        )
        # One message for an unknown prefix and a wrong secret: do not help guessing.
        if key is None or not key.matches(full):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        reason = key.unusable_reason()
        if reason:
            raise exceptions.AuthenticationFailed(reason + ".")
        if not key.created_by.is_active:
            raise exceptions.AuthenticationFailed("The user who created this API key is inactive.")
        touch_api_key(key)
        return key.created_by, key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'
