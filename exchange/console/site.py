"""The console site: the project's admin site (see admin_config.ConsoleAdminConfig).

Every ModelAdmin registered on it is wrapped in ConsolePolicy, so the read-only rule for
regulators and the audit of form writes hold for models added later without anyone remembering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext_lazy as _

from exchange.console import views
from exchange.console.policy import ConsolePolicy
from exchange.console.roles import role_of


class ConsoleSite(admin.AdminSite):
    site_header = _("Data exchange · Regulator console")
    site_title = _("Regulator console")
    index_title = _("Dashboard")
    index_template = "console/dashboard.html"

    def has_permission(self, request: HttpRequest) -> bool:
        # Staff flag plus a platform role: a seller's employee flagged staff by mistake sees
        # nothing here.
        user = request.user
        return bool(user.is_active and user.is_staff and role_of(request).platform_staff)

    def register(
        self,
        model_or_iterable: type[Model] | Iterable[type[Model]],
        admin_class: Any = None,
        **options: Any,
    ) -> None:
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, ConsolePolicy):
            admin_class = type(
                admin_class.__name__,
                (ConsolePolicy, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        context = {**views.dashboard_context(request), **(extra_context or {})}
        return super().index(request, extra_context=context)

    def _view(self, func: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        def bound(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            return func(self, request, *args, **kwargs)

        return self.admin_view(bound)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        console = [
            path("console/review/", self._view(views.review_list), name="console_review_queue"),
            path(
                "console/review/<int:version_id>/",
                self._view(views.review_detail),
                name="console_review",
            ),
            path(
                "console/action/<slug:key>/<str:pk>/",
                self._view(views.object_action),
                name="console_object_action",
            ),
            path(
                "console/audit/verify/", self._view(views.audit_verify), name="console_audit_verify"
            ),
            path("console/exports/", self._view(views.exports_page), name="console_exports"),
            path(
                "console/exports/<slug:kind>.csv",
                self._view(views.export_csv),
                name="console_export_csv",
            ),
        ]
        return console + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["console_role"] = role_of(request)
        return context
