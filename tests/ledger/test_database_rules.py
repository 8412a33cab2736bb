"""What PostgreSQL itself refuses, even when Python is bypassed."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from exchange.ledger import services
from exchange.ledger.models import Account, Posting, Transaction

pytestmark = pytest.mark.django_db


def sql(statement: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        # Deferred constraint triggers fire at COMMIT; the test never commits, so ask for the
        # checks now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_the_database_refuses_an_overdraft(buyer) -> None:
    account = services.available_account(buyer)
    with pytest.raises(IntegrityError, match="ledger_account_no_overdraft"), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=-1)


def test_the_external_account_may_go_negative(buyer, fund) -> None:
    fund(buyer, 100)
    assert Account.objects.get(kind="external").balance == -100


def test_a_zero_posting_is_refused(buyer, fund) -> None:
    fund(buyer, 100)
    txn = Transaction.objects.get()
    with pytest.raises(IntegrityError, match="ledger_posting_amount_nonzero"), transaction.atomic():
        Posting.objects.create(
            transaction=txn, account=services.available_account(buyer), amount=0, balance_after=0
        )


def test_postings_and_transactions_cannot_be_changed_or_deleted(buyer, fund) -> None:
    fund(buyer, 100)
    posting = Posting.objects.first()
    assert posting is not None
    for statement in (
        "UPDATE ledger_posting SET amount = amount + 1 WHERE id = %s",
        "DELETE FROM ledger_posting WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="immutable"):
            sql(statement, [posting.pk])
    for statement in (
        "UPDATE ledger_transaction SET memo = 'x' WHERE id = %s",
        "DELETE FROM ledger_transaction WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="immutable"):
            sql(statement, [posting.transaction_id])


def checks_now() -> None:
    """Run deferred checks queued so far, then defer again (as a fresh transaction would)."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_an_unbalanced_transaction_is_refused_at_commit(buyer) -> None:
    account = services.available_account(buyer)
    external = services.external_account()
    checks_now()
    with pytest.raises(DatabaseError, match="unbalanced"), transaction.atomic():
        txn = Transaction.objects.create(kind="adjustment", reference_type="t", reference_id="1")
        Posting.objects.bulk_create(
            [
                Posting(transaction=txn, account=external, amount=-5, balance_after=-5),
                Posting(transaction=txn, account=account, amount=4, balance_after=4),
            ]
        )
        checks_now()


def test_a_balance_changed_without_postings_is_refused_at_commit(buyer, fund) -> None:
    fund(buyer, 100)
    account = services.available_account(buyer)
    with pytest.raises(DatabaseError, match="does not match its postings"):
        sql("UPDATE ledger_account SET balance = balance + 50 WHERE id = %s", [account.pk])


def test_a_posting_with_a_wrong_running_balance_is_refused(buyer) -> None:
    account = services.available_account(buyer)
    external = services.external_account()
    checks_now()
    with pytest.raises(DatabaseError, match="does not follow"), transaction.atomic():
        txn = Transaction.objects.create(kind="adjustment", reference_type="t", reference_id="2")
        Posting.objects.bulk_create(
            [
                Posting(transaction=txn, account=external, amount=-5, balance_after=-5),
                Posting(transaction=txn, account=account, amount=5, balance_after=500),
            ]
        )
        checks_now()


def test_an_account_cannot_change_owner_or_kind(buyer, seller) -> None:
    account = services.available_account(buyer)
    with pytest.raises(DatabaseError, match="cannot change its owner"):
        sql("UPDATE ledger_account SET organisation_id = %s WHERE id = %s", [seller.pk, account.pk])
