"""The ledger primitive and the escrow building blocks, through their service functions."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from exchange.audit.models import AuditEvent
from exchange.ledger import services
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Account, Posting, Transaction
from exchange.participants.services import OrganisationFrozen
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db


def balance(account: Account) -> int:
    account.refresh_from_db()
    return account.balance


def test_accounts_are_created_once_per_owner_and_kind(buyer) -> None:
    assert services.available_account(buyer) == services.available_account(buyer)
    assert services.available_account(buyer) != services.escrow_account(buyer)
    assert services.external_account() == services.external_account()
    assert services.fee_account().organisation is None
    assert Account.objects.count() == 4


def test_a_transfer_writes_balanced_postings_and_moves_balances(buyer, seller, fund) -> None:
    fund(buyer, 10_000)
    txn = services.transfer(
        debit=services.available_account(buyer),
        credit=services.available_account(seller),
        amount_fen=2_500,
        reference=("test.transfer", 1),
        memo="测试",
    )
    amounts = sorted(txn.postings.values_list("amount", flat=True))
    assert amounts == [-2_500, 2_500]
    assert balance(services.available_account(buyer)) == 7_500
    assert balance(services.available_account(seller)) == 2_500
    assert balance(services.external_account()) == -10_000
    assert check_ledger().ok


def test_an_overdraft_is_refused_and_nothing_is_written(buyer, seller, fund) -> None:
    fund(buyer, 1_000)
    before = Transaction.objects.count()
    with pytest.raises(services.InsufficientFunds):
        services.transfer(
            debit=services.available_account(buyer),
            credit=services.available_account(seller),
            amount_fen=1_001,
            reference=("test.transfer", 2),
        )
    assert Transaction.objects.count() == before
    assert balance(services.available_account(buyer)) == 1_000


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, "100"])
def test_amounts_must_be_positive_whole_fen(buyer, seller, amount) -> None:
    with pytest.raises(ValidationError):
        services.transfer(
            debit=services.external_account(),
            credit=services.available_account(seller),
            amount_fen=amount,
            reference=("test.transfer", 3),
        )


def test_postings_that_do_not_sum_to_zero_are_refused(buyer, seller) -> None:
    with pytest.raises(ValidationError, match="sum to zero"):
        services.post(
            kind="adjustment",
            reference=("test.adjust", 1),
            legs=[(services.external_account(), -10), (services.available_account(seller), 9)],
        )


def test_the_same_kind_and_reference_is_recorded_once(buyer, fund) -> None:
    fund(buyer, 5_000)
    services.hold_escrow(buyer=buyer, amount_fen=1_000, reference=("trading.order", 7))
    with pytest.raises(services.DuplicateLedgerTransaction):
        services.hold_escrow(buyer=buyer, amount_fen=1_000, reference=("trading.order", 7))
    assert balance(services.escrow_account(buyer)) == 1_000


def test_hold_then_release_pays_the_seller_minus_the_fee(buyer, seller, fund) -> None:
    fund(buyer, 10_000)
    ref = ("trading.order", 11)
    services.hold_escrow(buyer=buyer, amount_fen=8_000, reference=ref)
    assert balance(services.available_account(buyer)) == 2_000
    assert balance(services.escrow_account(buyer)) == 8_000
    txn = services.release_escrow(
        buyer=buyer, seller=seller, amount_fen=8_000, fee_fen=400, reference=ref
    )
    assert txn.kind == "escrow_release"
    assert balance(services.escrow_account(buyer)) == 0
    assert balance(services.available_account(seller)) == 7_600
    assert balance(services.fee_account()) == 400
    assert check_ledger().ok


def test_release_cannot_exceed_what_is_held(buyer, seller, fund) -> None:
    fund(buyer, 1_000)
    services.hold_escrow(buyer=buyer, amount_fen=500, reference=("trading.order", 12))
    with pytest.raises(services.InsufficientFunds):
        services.release_escrow(
            buyer=buyer, seller=seller, amount_fen=600, fee_fen=0, reference=("trading.order", 12)
        )


def test_a_fee_larger_than_the_amount_is_refused(buyer, seller) -> None:
    with pytest.raises(ValidationError):
        services.release_escrow(
            buyer=buyer, seller=seller, amount_fen=100, fee_fen=101, reference=("o", 1)
        )


def test_refund_returns_the_hold_to_the_buyer(buyer, fund) -> None:
    fund(buyer, 3_000)
    services.hold_escrow(buyer=buyer, amount_fen=3_000, reference=("trading.order", 13))
    services.refund_escrow(buyer=buyer, amount_fen=3_000, reference=("trading.order", 13))
    assert balance(services.available_account(buyer)) == 3_000
    assert balance(services.escrow_account(buyer)) == 0


def test_split_pays_each_party_its_share(buyer, seller, fund) -> None:
    fund(buyer, 10_000)
    services.hold_escrow(buyer=buyer, amount_fen=10_000, reference=("trading.order", 14))
    txn = services.split_escrow(
        buyer=buyer,
        seller=seller,
        to_seller_fen=6_000,
        to_buyer_fen=3_700,
        fee_fen=300,
        reference=("trading.order", 14),
    )
    assert txn.postings.count() == 4
    assert balance(services.available_account(seller)) == 6_000
    assert balance(services.available_account(buyer)) == 3_700
    assert balance(services.fee_account()) == 300
    assert balance(services.escrow_account(buyer)) == 0


@pytest.mark.usefixtures("english")
def test_a_frozen_buyer_cannot_hold_escrow(fund) -> None:
    frozen = OrganisationFactory(status="frozen", status_reason="调查中")
    with pytest.raises(OrganisationFrozen, match="frozen"):
        services.hold_escrow(buyer=frozen, amount_fen=1, reference=("trading.order", 15))


def test_every_ledger_transaction_writes_an_audit_event(buyer, seller, fund) -> None:
    fund(buyer, 2_000)
    txn = services.hold_escrow(buyer=buyer, amount_fen=2_000, reference=("trading.order", 16))
    event = AuditEvent.objects.get(action="ledger.escrow_hold", object_id=str(txn.pk))
    assert event.organisation_id == buyer.pk
    assert event.changes["reference"] == ["trading.order", "16"]
    assert sorted(p["amount_fen"] for p in event.changes["postings"]) == [-2_000, 2_000]


def test_postings_record_the_running_balance(buyer, fund) -> None:
    fund(buyer, 1_000)
    fund(buyer, 500)
    running = list(
        Posting.objects.filter(account=services.available_account(buyer))
        .order_by("id")
        .values_list("balance_after", flat=True)
    )
    assert running == [1_000, 1_500]


def test_an_absurd_amount_is_a_validation_error_not_a_database_error(seller) -> None:
    with pytest.raises(ValidationError):
        services.transfer(
            debit=services.external_account(),
            credit=services.available_account(seller),
            amount_fen=10**20,
            reference=("test.transfer", 4),
        )
