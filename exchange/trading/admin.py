"""Trading history is read-only in the admin: orders and disputes change only through the
services (locks, money, audit). Webhook endpoints may be deactivated by staff."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from exchange.trading.models import (
    Dispute,
    DownloadLink,
    Notification,
    Order,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "outcome", "buyer", "seller", "amount_fen", "created_at"]
    list_filter = ["status", "outcome"]
    search_fields = ["buyer__name", "seller__name", "contract__reference"]


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "status", "outcome", "opened_at", "resolved_at"]
    list_filter = ["status", "outcome"]


@admin.register(DownloadLink)
class DownloadLinkAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "organisation", "version", "file", "issued_at", "expires_at"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["id", "organisation", "kind", "created_at", "read_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[Any]):
    list_display = ["id", "organisation", "url", "active", "created_at"]
    list_filter = ["active"]
    fields = ["organisation", "url", "events", "description", "active", "created_at"]
    readonly_fields = ["organisation", "url", "events", "description", "created_at"]
    # Never shown, even encrypted: nothing staff could do with it, and a page is one more leak.
    exclude = ["secret_ciphertext"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class WebhookAttemptInline(admin.TabularInline[WebhookAttempt, WebhookDelivery]):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = [
        "number",
        "attempted_at",
        "status_code",
        "error",
        "duration_ms",
        "next_retry_in_seconds",
    ]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "endpoint", "event", "status", "attempts", "created_at"]
    list_filter = ["status", "event"]
    inlines = [WebhookAttemptInline]
