"""One error format for the whole API: {"type", "code", "message", "field_errors"}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from exchange.api_common.errors import ERROR_TYPE_BY_STATUS


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
        }
    return {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Domain code raises Django's exceptions; translate them so the API answers 400/403, not 500.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    field_errors = _flatten(response.data) if isinstance(exc, exceptions.ValidationError) else {}
    if isinstance(exc, exceptions.ValidationError):
        message = "The request has invalid fields." if field_errors else "Invalid request."
        code = "invalid"
    else:
        message = (
            str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc.default_detail)
        )
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
    kind = ERROR_TYPE_BY_STATUS.get(response.status_code, "error")
    response.data = {"type": kind, "code": code, "message": message, "field_errors": field_errors}
    return response
