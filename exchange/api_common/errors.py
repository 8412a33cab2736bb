"""The documented shape of exchange.api_errors' error body, for the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

#: The error family of each status the API answers with; any other status is "error".
ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "validation_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limited",
}
ERROR_TYPES = [*ERROR_TYPE_BY_STATUS.values(), "error"]


class ApiErrorOutput(serializers.Serializer[Any]):
    """Every 4xx answer of the API has this body (see exchange.api_errors)."""

    type = serializers.ChoiceField(choices=ERROR_TYPES, help_text="the family of the error")
    code = serializers.CharField(help_text="a stable machine-readable code, e.g. not_found")
    message = serializers.CharField(help_text="a human-readable sentence (no personal data)")
    field_errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="messages per request field; empty unless type is validation_error",
    )


#: Which statuses each operation may answer besides its own, and why.
ERROR_DESCRIPTIONS: dict[str, str] = {
    "400": "Invalid request: see field_errors.",
    "401": "No or invalid credentials.",
    "403": "Authenticated, but not allowed (scope, role, frozen organisation).",
    "404": "No such object, or not visible to your organisation.",
    "409": "The object's state does not allow this now, or the Idempotency-Key is in flight.",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "422": "The Idempotency-Key was used with a different request.",
    "429": "Rate limited: retry after the number of seconds in the Retry-After header.",
}
