"""Reads about money, filtered by who asks."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from exchange.ledger.models import Account, Deposit, Posting, Withdrawal
from exchange.participants.models import Organisation


@dataclass(frozen=True)
class WalletBalances:
    available_fen: int
    escrow_fen: int


def wallet_of(organisation: Organisation) -> WalletBalances:
    """Balances without creating accounts: an organisation that never held money has zero."""
    balances = dict(
        Account.objects.filter(organisation=organisation).values_list("kind", "balance")
    )
    return WalletBalances(
        available_fen=balances.get(Account.Kind.AVAILABLE, 0),
        escrow_fen=balances.get(Account.Kind.ESCROW, 0),
    )


def postings_of(organisation: Organisation) -> QuerySet[Posting]:
    """The organisation's own postings only (its available and escrow accounts), newest first."""
    return (
        Posting.objects.filter(account__organisation=organisation)
        .select_related("transaction", "account")
        .order_by("-id")
    )


def deposits_of(organisation: Organisation) -> QuerySet[Deposit]:
    return Deposit.objects.filter(organisation=organisation).order_by("-id")


def withdrawals_of(organisation: Organisation) -> QuerySet[Withdrawal]:
    return Withdrawal.objects.filter(organisation=organisation).order_by("-id")
