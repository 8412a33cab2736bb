"""The API's front door: what is here and where the schema lives."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


class ApiRootView(APIView):
    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        def link(name: str) -> str:
            return reverse(name, request=request)

        return Response(
            {
                "name": "Data exchange API",
                "version": "v1",
                "schema": link("api-schema"),
                "me": link("api-me"),
                "organisations": link("api-organisations"),
                "api_keys": link("api-keys"),
                "authentication": "Authorization: Api-Key dx_<prefix>_<secret>, or a session",
            }
        )
