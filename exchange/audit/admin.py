from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from exchange.audit.models import AuditEvent


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
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_id", "actor_label"]
    date_hierarchy = "created_at"

    # The log is append-only: nobody adds, changes or deletes through the console.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
