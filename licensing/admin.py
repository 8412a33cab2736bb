"""Admin: licensing rows are history and evidence, so everything is read-only here; changes go
through the services (which audit them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from licensing.models import (
    Contract,
    ContractSignature,
    DownloadDecision,
    Licence,
    LicenceSeat,
    LicenceTemplate,
    Offer,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(LicenceTemplate)
class LicenceTemplateAdmin(ReadOnlyAdmin):
    list_display = ["key", "version", "family", "is_current", "published_at"]
    list_filter = ["family", "is_current"]


@admin.register(Offer)
class OfferAdmin(ReadOnlyAdmin):
    list_display = ["id", "price_plan", "seller", "template", "status", "accepted_at"]
    list_filter = ["status"]


class SignatureInline(admin.TabularInline[ContractSignature, Contract]):
    model = ContractSignature
    extra = 0
    can_delete = False
    readonly_fields = [
        "party", "organisation", "user", "method", "signed_hash", "signed_at", "ip", "user_agent",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdmin):
    list_display = ["reference", "seller", "buyer", "status", "content_hash", "created_at"]
    list_filter = ["status", "plan_kind"]
    search_fields = ["reference", "content_hash"]
    inlines = [SignatureInline]


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    list_display = ["id", "buyer", "seller", "listing", "status", "starts_at", "ends_at"]
    list_filter = ["status", "plan_kind"]


@admin.register(LicenceSeat)
class LicenceSeatAdmin(ReadOnlyAdmin):
    list_display = ["licence", "user", "first_download_at"]


@admin.register(DownloadDecision)
class DownloadDecisionAdmin(ReadOnlyAdmin):
    list_display = ["decided_at", "organisation", "version", "allowed", "reason"]
    list_filter = ["allowed", "reason"]
