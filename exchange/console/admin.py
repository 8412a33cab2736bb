"""Pipeline runs in the console. The upload's quarantine key (and anything else that could
address the raw file) is never shown: the console reads what the pipeline reported, not the data.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from listings.pipeline.models import Upload

# Fields that name or reach the raw file in quarantine, or the seller's private cleaning policy.
HIDDEN_UPLOAD_FIELDS = ["quarantine_key", "multipart_upload_id"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin[Upload]):
    list_display = [
        "id",
        "display_name",
        "organisation",
        "version",
        "status",
        "stage",
        "error_code",
        "updated_at",
    ]
    list_filter = ["status", "stage", "format"]
    search_fields = ["display_name", "error_code", "organisation__name"]
    list_select_related = ["organisation", "version", "version__listing"]
    exclude = HIDDEN_UPLOAD_FIELDS
    ordering = ["-created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Upload._meta.fields if f.name not in HIDDEN_UPLOAD_FIELDS]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploads start through the API, where the pipeline takes over

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
