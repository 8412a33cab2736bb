"""A test-only URLconf: one endpoint per scope, to exercise HasScope over HTTP."""

from typing import Any

from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from exchange.participants.permissions import HasScope, NotFrozen


def scoped(scope: str) -> Any:
    class View(APIView):
        permission_classes = [HasScope, NotFrozen]
        required_scope = scope

        def post(self, request: Request) -> Response:
            return Response({"ok": scope})

    return View.as_view()


urlpatterns = [
    path("scoped/<str:scope>/", lambda request, scope: scoped(scope)(request)),
    path("api/v1/", include("exchange.api_urls")),
]
