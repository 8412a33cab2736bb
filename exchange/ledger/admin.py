"""Money is read-only in the admin: it changes only through the ledger services, which lock,
check and audit. Corrections are new transactions, never edits."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from exchange.ledger.models import (
    Account,
    Deposit,
    IdempotencyRecord,
    Posting,
    Transaction,
    Withdrawal,
)


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "organisation", "kind", "balance", "created_at"]
    list_filter = ["kind"]
    search_fields = ["organisation__name"]


class PostingInline(admin.TabularInline[Posting, Transaction]):
    model = Posting
    fields = ["account", "amount", "balance_after", "created_at"]
    readonly_fields = ["account", "amount", "balance_after", "created_at"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "reference_type", "reference_id", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["reference_type", "reference_id"]
    inlines = [PostingInline]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "amount", "balance_after", "created_at"]
    list_select_related = ["account"]


@admin.register(Deposit)
class DepositAdmin(ReadOnlyAdmin):
    list_display = ["id", "organisation", "amount_fen", "provider", "status", "created_at"]
    list_filter = ["status", "provider"]


@admin.register(Withdrawal)
class WithdrawalAdmin(ReadOnlyAdmin):
    list_display = ["id", "organisation", "amount_fen", "provider", "status", "created_at"]
    list_filter = ["status", "provider"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["id", "principal", "method", "path", "status", "created_at", "expires_at"]
    list_filter = ["status"]
