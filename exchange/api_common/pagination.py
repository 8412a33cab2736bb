"""Cursor pagination shared by the API's collections.

Keyset cursors stay stable while new rows arrive and cost the same however deep a trader pages,
which is what a script polling for new orders, licences or reviews needs. The catalogue search is
the one exception: it is ranked by relevance with facet counts over the whole result, so it pages
by number (listings/api.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class NewestIssuedFirst(NewestFirst):
    # Licence ids are UUIDs, which carry no order; the issue time does.
    ordering = "-issued_at"


class NewestCreatedFirst(NewestFirst):
    ordering = "-created_at"


class OldestSubmittedFirst(NewestFirst):
    # A review queue is worked from its oldest entry.
    ordering = "submitted_at"


_pages: dict[type[serializers.BaseSerializer[Any]], type[serializers.Serializer[Any]]] = {}


def cursor_page_of(
    item: type[serializers.BaseSerializer[Any]],
) -> type[serializers.Serializer[Any]]:
    """The response schema of a cursor page of `item`, for views that paginate by hand (an
    APIView that also takes POST) and so get no automatic schema from drf-spectacular."""
    if item not in _pages:
        name = item.__name__.removesuffix("Output").removesuffix("Serializer")
        _pages[item] = type(
            f"{name}CursorPage",
            (serializers.Serializer,),
            {
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": item(many=True),
                "__module__": __name__,
            },
        )
    return _pages[item]


def paginate(
    view: APIView,
    request: Request,
    queryset: QuerySet[Any],
    item: type[serializers.BaseSerializer[Any]],
    pagination: type[CursorPagination] = NewestFirst,
) -> Response:
    """One cursor page of `queryset` serialised with `item`, in the shared page format."""
    paginator = pagination()
    rows = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(item(rows, many=True).data)
