"""`manage.py ledger_check`: prove the books balance; exit non-zero naming what does not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from exchange.ledger.checks import check_ledger


class Command(BaseCommand):
    help = (
        "Check the ledger: the sum of all balances is zero, each account's balance equals the sum "
        "of its postings, each transaction sums to zero. Exits non-zero if not."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = check_ledger()
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(f"LEDGER BROKEN: {report.problems[0]}")
        self.stdout.write(
            f"OK: {report.accounts} accounts, {report.transactions} transactions, "
            f"{report.postings} postings; sum of balances 0; every balance equals its postings."
        )
