"""drf-spectacular post-processing: every operation documents the common error responses.

Apps describe their success responses; this hook adds the error answers any operation can give
(in the one error format), the Retry-After header of 429, and example error bodies, so schema
consumers (and schemathesis' status-code conformance check) see the whole contract.

Wire it with SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"] = [
    "drf_spectacular.hooks.postprocess_schema_enums",
    "exchange.api_common.schema.add_error_responses",
]
"""

from __future__ import annotations

from typing import Any

from exchange.api_common.errors import ERROR_DESCRIPTIONS, ERROR_TYPES

ERROR_COMPONENT = "ApiError"
UNSAFE_METHODS = {"post", "put", "patch", "delete"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The one error format of the API.",
    "properties": {
        "type": {
            "type": "string",
            "enum": list(ERROR_TYPES),
            "description": "the family of the error",
        },
        "code": {"type": "string", "description": "a stable machine-readable code"},
        "message": {"type": "string", "description": "a human-readable sentence"},
        "field_errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "messages per request field; empty unless a validation error",
        },
    },
    "required": ["type", "code", "message", "field_errors"],
}

_EXAMPLES: dict[str, dict[str, Any]] = {
    "400": {
        "type": "validation_error",
        "code": "invalid",
        "message": "The request has invalid fields.",
        "field_errors": {"price_plan": ["This field is required."]},
    },
    "401": {
        "type": "authentication_error",
        "code": "authentication_failed",
        "message": "Invalid API key.",
        "field_errors": {},
    },
    "403": {
        "type": "permission_error",
        "code": "permission_denied",
        "message": "This API key lacks the 'trade' scope this operation needs.",
        "field_errors": {},
    },
    "404": {"type": "not_found", "code": "not_found", "message": "Not found.", "field_errors": {}},
    "409": {
        "type": "conflict",
        "code": "illegal_transition",
        "message": "The order is not in a state that allows this.",
        "field_errors": {},
    },
    "422": {
        "type": "unprocessable",
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was used with a different request.",
        "field_errors": {},
    },
    "429": {
        "type": "rate_limited",
        "code": "throttled",
        "message": "Request was throttled. Expected available in 12 seconds.",
        "field_errors": {},
    },
}


def error_statuses(method: str) -> list[str]:
    statuses = ["400", "401", "403", "404", "429"]
    if method in UNSAFE_METHODS:
        statuses += ["409", "413", "415", "422"]
    return statuses


def _error_response(code: str) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
    if code in _EXAMPLES:
        media["examples"] = {"error": {"value": _EXAMPLES[code]}}
    response: dict[str, Any] = {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {"application/json": media},
    }
    if code == "429":
        response["headers"] = {
            "Retry-After": {
                "schema": {"type": "integer"},
                "description": "seconds to wait before retrying",
            }
        }
    return response


def add_error_responses(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Add the shared error responses to every operation that does not document its own."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(ERROR_COMPONENT, _ERROR_SCHEMA)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in error_statuses(method):
                responses.setdefault(code, _error_response(code))
    return result
