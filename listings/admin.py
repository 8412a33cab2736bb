"""Console views of the catalogue. Read-only where a change must go through a service: lifecycle
status, pipeline outputs and review decisions are audited there, never edited here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from listings.models import Listing, ListingVersion, PricePlan, VersionFile


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PricePlanInline(ReadOnlyInline):
    model = PricePlan
    fields = ["kind", "name", "price_fen", "term_months", "acceptance_window_hours", "active"]


class VersionFileInline(ReadOnlyInline):
    model = VersionFile
    fields = ["name", "format", "size", "sha256", "row_count"]


class VersionInline(ReadOnlyInline):
    model = ListingVersion
    fields = ["number", "status", "pipeline_status", "published_at", "approved_at"]
    show_change_link = True


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "seller", "category", "status", "visibility", "first_listed_at"]
    list_filter = ["status", "visibility", "category", "licence_family"]
    search_fields = ["title", "summary"]
    list_select_related = ["seller"]
    inlines = [PricePlanInline, VersionInline]
    readonly_fields = [
        "seller",
        "created_by",
        "status",
        "status_reason",
        "status_changed_at",
        "latest_version",
        "first_listed_at",
        "min_price_fen",
        "formats",
        "created_at",
        "updated_at",
    ]
    exclude = ["search_document", "search_vector", "description_html", "allowed_buyers"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # sellers create listings through the API, where it is audited

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ListingVersion)
class ListingVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "listing", "number", "status", "pipeline_status", "submitted_at"]
    list_filter = ["status", "pipeline_status"]
    list_select_related = ["listing"]
    inlines = [VersionFileInline]
    ordering = ["-id"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in ListingVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
