"""A hypothesis state machine over deposit, hold, release, refund, split and withdraw: after
every step the ledger's invariants hold and the balances match a simple model."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from exchange.ledger import funding, services
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Account
from exchange.participants.models import Organisation
from tests.factories import OrganisationFactory, operator

amounts = st.integers(min_value=1, max_value=50_000)
ORGS = 3


class LedgerMachine(RuleBasedStateMachine):
    holds = Bundle("holds")
    # Created once by the test (creating users and organisations per example is the slow part);
    # each example's money is rolled back.
    ops: Any = None
    orgs: list[Organisation] = []

    def __init__(self) -> None:
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown, so examples do not see each
        # other's money.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.available = [0] * ORGS
        self.escrow = [0] * ORGS
        self.fees = 0
        self.outside = 0  # money that came in minus money that went out
        self.n = 0

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _ref(self) -> tuple[str, int]:
        self.n += 1
        return ("test.order", self.n)

    @rule(org=st.integers(0, ORGS - 1), amount=amounts, manual=st.booleans())
    def deposit(self, org: int, amount: int, manual: bool) -> None:
        if manual:
            funding.record_manual_deposit(
                operator=self.ops, organisation=self.orgs[org], amount_fen=amount, reason="r"
            )
        else:
            deposit, _ = funding.start_deposit(
                actor=None, organisation=self.orgs[org], amount_fen=amount
            )
            from exchange.ledger.payments import PaymentEvent

            event = PaymentEvent(
                kind="deposit.succeeded",
                provider_reference=deposit.provider_reference,
                amount_fen=amount,
                occurred_at=deposit.created_at,
            )
            assert funding.apply_payment_event(deposit.provider, event) == "applied"
            assert funding.apply_payment_event(deposit.provider, event) == "already applied"
        self.available[org] += amount
        self.outside += amount

    @rule(org=st.integers(0, ORGS - 1), amount=amounts)
    def withdraw(self, org: int, amount: int) -> None:
        try:
            with transaction.atomic():
                funding.request_withdrawal(
                    actor=None, organisation=self.orgs[org], amount_fen=amount
                )
        except services.InsufficientFunds:
            assert amount > self.available[org]
            return
        assert amount <= self.available[org]
        self.available[org] -= amount
        self.outside -= amount

    @rule(target=holds, buyer=st.integers(0, ORGS - 1), amount=amounts)
    def hold(self, buyer: int, amount: int) -> Any:
        ref = self._ref()
        try:
            with transaction.atomic():
                services.hold_escrow(buyer=self.orgs[buyer], amount_fen=amount, reference=ref)
        except services.InsufficientFunds:
            assert amount > self.available[buyer]
            return ("none", buyer, 0, ref)
        self.available[buyer] -= amount
        self.escrow[buyer] += amount
        return ("held", buyer, amount, ref)

    @rule(
        held=consumes(holds),
        seller=st.integers(0, ORGS - 1),
        fee_permille=st.integers(0, 1000),
    )
    def release(self, held: tuple, seller: int, fee_permille: int) -> None:
        state, buyer, amount, ref = held
        if state != "held":
            return
        fee = amount * fee_permille // 1000
        services.release_escrow(
            buyer=self.orgs[buyer],
            seller=self.orgs[seller],
            amount_fen=amount,
            fee_fen=fee,
            reference=ref,
        )
        self.escrow[buyer] -= amount
        self.available[seller] += amount - fee
        self.fees += fee
        # The same order cannot be released twice.
        with pytest.raises(services.DuplicateLedgerTransaction), transaction.atomic():
            services.release_escrow(
                buyer=self.orgs[buyer],
                seller=self.orgs[seller],
                amount_fen=amount,
                fee_fen=fee,
                reference=ref,
            )

    @rule(held=consumes(holds))
    def refund(self, held: tuple) -> None:
        state, buyer, amount, ref = held
        if state != "held":
            return
        services.refund_escrow(buyer=self.orgs[buyer], amount_fen=amount, reference=ref)
        self.escrow[buyer] -= amount
        self.available[buyer] += amount

    @rule(held=consumes(holds), seller=st.integers(0, ORGS - 1), data=st.data())
    def split(self, held: tuple, seller: int, data: st.DataObject) -> None:
        state, buyer, amount, ref = held
        if state != "held":
            return
        to_seller = data.draw(st.integers(0, amount))
        fee = data.draw(st.integers(0, amount - to_seller))
        to_buyer = amount - to_seller - fee
        services.split_escrow(
            buyer=self.orgs[buyer],
            seller=self.orgs[seller],
            to_seller_fen=to_seller,
            to_buyer_fen=to_buyer,
            fee_fen=fee,
            reference=ref,
        )
        self.escrow[buyer] -= amount
        self.available[seller] += to_seller
        self.available[buyer] += to_buyer
        self.fees += fee

    @invariant()
    def books_balance(self) -> None:
        report = check_ledger()
        assert report.ok, report.problems
        # Deferred checks (transaction sums, running balances) run now, not only at commit.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @invariant()
    def balances_match_the_model(self) -> None:
        actual = {
            (a.organisation_id, a.kind): a.balance
            for a in Account.objects.filter(organisation__in=self.orgs)
        }
        for i, org in enumerate(self.orgs):
            assert actual.get((org.pk, "available"), 0) == self.available[i]
            assert actual.get((org.pk, "escrow"), 0) == self.escrow[i]
            assert self.available[i] >= 0 and self.escrow[i] >= 0
        fee = Account.objects.filter(kind="fee_revenue").values_list("balance", flat=True)
        assert (fee.first() or 0) == self.fees
        external = Account.objects.filter(kind="external").values_list("balance", flat=True)
        assert (external.first() or 0) == -self.outside


@pytest.mark.django_db
def test_the_ledger_keeps_its_invariants() -> None:
    LedgerMachine.ops = operator()
    LedgerMachine.orgs = [OrganisationFactory() for _ in range(ORGS)]
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=12,
            deadline=None,
            database=None,  # no example files in the working tree
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
