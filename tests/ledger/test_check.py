"""`manage.py ledger_check` proves the books balance and names what does not."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from exchange.ledger import services

pytestmark = pytest.mark.django_db


def tamper(statement: str, params: list) -> None:
    """Change a table behind the triggers' back, as someone with superuser rights could."""
    with connection.cursor() as cursor:
        # Run the deferred checks queued so far (Django's test teardown would run them later and
        # they would see the tampered row); under the replica role no new ones are queued.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(statement, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def test_an_empty_ledger_checks_ok(capsys) -> None:
    call_command("ledger_check")
    assert "OK: 0 accounts, 0 transactions" in capsys.readouterr().out


def test_a_busy_ledger_checks_ok(buyer, seller, fund, capsys) -> None:
    fund(buyer, 9_000)
    services.hold_escrow(buyer=buyer, amount_fen=5_000, reference=("trading.order", 1))
    services.release_escrow(
        buyer=buyer, seller=seller, amount_fen=5_000, fee_fen=250, reference=("trading.order", 1)
    )
    call_command("ledger_check")
    out = capsys.readouterr().out
    assert "OK: 5 accounts, 3 transactions, 7 postings; sum of balances 0" in out


def test_a_tampered_balance_is_named(buyer, fund) -> None:
    fund(buyer, 1_000)
    account = services.available_account(buyer)
    tamper("UPDATE ledger_account SET balance = 999999 WHERE id = %s", [account.pk])
    with pytest.raises(CommandError, match="LEDGER BROKEN: sum of all balances") as excinfo:
        call_command("ledger_check")
    assert excinfo.value.returncode == 1


def test_a_balance_that_disagrees_with_its_postings_is_named(buyer, seller, fund, capsys) -> None:
    fund(buyer, 1_000)
    a, b = services.available_account(buyer), services.available_account(seller)
    # Keep the total at zero so only the per-account check can notice.
    tamper("UPDATE ledger_account SET balance = balance - 300 WHERE id = %s", [a.pk])
    tamper("UPDATE ledger_account SET balance = balance + 300 WHERE id = %s", [b.pk])
    with pytest.raises(CommandError, match=f"account #{a.pk}"):
        call_command("ledger_check")
    err = capsys.readouterr().err
    assert f"account #{a.pk}" in err and f"account #{b.pk}" in err
    assert "postings sum to 1000 fen" in err


def test_a_deleted_posting_is_named(buyer, fund) -> None:
    fund(buyer, 1_000)
    posting = services.available_account(buyer).postings.get()
    tamper("DELETE FROM ledger_posting WHERE id = %s", [posting.pk])
    with pytest.raises(CommandError, match="LEDGER BROKEN"):
        call_command("ledger_check")


def test_the_periodic_check_reports_a_broken_ledger(buyer, fund, caplog) -> None:
    from exchange.ledger.tasks import verify_ledger

    fund(buyer, 1_000)
    assert verify_ledger.apply().get() is True
    tamper(
        "UPDATE ledger_account SET balance = 1 WHERE id = %s",
        [services.available_account(buyer).pk],
    )
    assert verify_ledger.apply().get() is False
    assert "ledger check failed" in caplog.text
