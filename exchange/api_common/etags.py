"""Weak ETags and `If-None-Match` for cheap GETs that clients poll (an order's state, a listing,
an upload's progress, the wallet).

    class OrderDetailView(APIView):
        @extend_schema(responses={200: OrderOutput, **NOT_MODIFIED}, parameters=ETAG_PARAMETERS)
        @conditional_get
        def get(self, request, order_id): ...

The tag is a hash of the JSON body the caller would receive, so it changes with anything the
representation shows (related objects included) and differs between callers who see different
fields. It is weak (`W/"..."`): equal meaning, not byte-for-byte equality of the rendering. A
matching `If-None-Match` answers 304 with no body. Only 200 answers get a tag: errors never do.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

#: Add to @extend_schema(parameters=[...]) of every @conditional_get operation.
ETAG_PARAMETERS = [
    OpenApiParameter(
        name="If-None-Match",
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        required=False,
        description=(
            "The ETag of a representation you hold: if it is still current the answer is 304 "
            "with no body."
        ),
    ),
    OpenApiParameter(
        name="ETag",
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        response=[200, 304],
        description="A weak validator of this representation; send it back in If-None-Match.",
    ),
]

#: Merge into @extend_schema(responses={...}) of every @conditional_get operation.
NOT_MODIFIED: dict[int, OpenApiResponse] = {
    304: OpenApiResponse(description="Not modified: the ETag in If-None-Match is still current.")
}


def weak_etag(data: Any) -> str:
    canonical = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return f'W/"{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against a list of tags (or `*`)."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or _opaque(candidate) == wanted:
            return True
    return False


Handler = TypeVar("Handler", bound=Callable[..., Any])


def conditional_get(handler: Handler) -> Handler:
    """Decorate an APIView's get: its 200 answers carry an ETag and honour If-None-Match."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        response = handler(view, request, *args, **kwargs)
        if not isinstance(response, Response) or response.status_code != status.HTTP_200_OK:
            return response
        etag = weak_etag(response.data)
        if matches(request.headers.get("If-None-Match"), etag):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        response["ETag"] = etag
        # The representation depends on who asks: shared caches must not reuse it.
        response["Cache-Control"] = "private, no-cache"
        return response

    return wrapper  # type: ignore[return-value]
