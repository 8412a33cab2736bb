from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from exchange.audit.models import AuditEvent
from exchange.console.filters import ActorFilter, ObjectFilter, OrganisationFilter, PeriodFilter


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = [
        "id",
        "created_at",
        "action",
        "object_type",
        "object_id",
        "actor_label",
        "organisation_id",
    ]
    # Browse by actor, organisation, object, action and time (the console's audit filters).
    list_filter = [
        PeriodFilter,
        ActorFilter,
        OrganisationFilter,
        ObjectFilter,
        "action",
        "object_type",
    ]
    search_fields = ["action", "object_id", "actor_label"]
    ordering = ["-id"]  # newest first when browsing; the verifier walks in id order itself
    date_hierarchy = "created_at"
    show_full_result_count = False  # a COUNT(*) over the whole log on every page is wasted work

    # The log is append-only: nobody adds, changes or deletes through the console.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
