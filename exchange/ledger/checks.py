"""The ledger's invariants, checked against the database (used by `manage.py ledger_check`,
tests and operators)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from exchange.ledger.models import Account, Posting, Transaction


@dataclass
class LedgerReport:
    accounts: int = 0
    transactions: int = 0
    postings: int = 0
    balance_sum: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_ledger(limit: int = 20) -> LedgerReport:
    """Sum of balances is zero; each balance equals the sum of its postings; each transaction's
    postings sum to zero (and there are at least two); no account but external is negative."""
    report = LedgerReport(
        accounts=Account.objects.count(),
        transactions=Transaction.objects.count(),
        postings=Posting.objects.count(),
        balance_sum=Account.objects.aggregate(s=Coalesce(Sum("balance"), 0))["s"],
    )
    if report.balance_sum != 0:
        report.problems.append(f"sum of all balances is {report.balance_sum} fen, not 0")

    mismatched = (
        Account.objects.annotate(posted=Coalesce(Sum("postings__amount"), 0))
        .exclude(balance=F("posted"))
        .order_by("pk")[:limit]
    )
    for account in mismatched:
        report.problems.append(
            f"{account.label}: balance {account.balance} fen but its postings sum to "
            f"{account.posted} fen"
        )

    negative = Account.objects.filter(balance__lt=0).exclude(kind=Account.Kind.EXTERNAL)
    for overdrawn in negative.order_by("pk")[:limit]:
        report.problems.append(f"{overdrawn.label}: negative balance {overdrawn.balance} fen")

    unbalanced = (
        Transaction.objects.annotate(
            total=Coalesce(Sum("postings__amount"), 0), n=Count("postings")
        )
        .filter(~Q(total=0) | Q(n__lt=2))
        .order_by("pk")[:limit]
    )
    for txn in unbalanced:
        report.problems.append(
            f"transaction #{txn.pk}: {txn.n} postings summing to {txn.total} fen"
        )
    return report
