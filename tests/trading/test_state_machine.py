"""A hypothesis state machine over deposit, order, sign, fund, download, deliver, accept, dispute,
resolve, auto-accept and withdraw. After every step: the ledger's invariants hold, balances match
a simple model, every order is in the state the model expects, and each buyer's escrow equals the
sum of its open (funded, delivered, disputed) orders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from exchange.ledger import funding
from exchange.ledger import services as ledger
from exchange.ledger.checks import check_ledger
from exchange.participants.models import Membership, User
from exchange.trading import services
from exchange.trading.models import Order
from listings.models import PricePlan
from tests.factories import regulator
from tests.trading.factories import Market

BUYERS = 2
OPEN = {"funded", "delivered", "disputed"}
amounts = st.integers(min_value=1, max_value=200_00)


class TradeMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    market: Market
    buyers: list[Membership] = []
    plans: list[PricePlan] = []
    staff: User

    def __init__(self) -> None:
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.available = [0] * BUYERS
        self.escrow = [0] * BUYERS
        self.seller = 0
        self.fees = 0
        self.status: dict[int, str] = {}
        self.owner: dict[int, int] = {}
        self.amount: dict[int, int] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _who(self, order_id: int) -> dict[str, Any]:
        buyer = self.buyers[self.owner[order_id]]
        return {"actor": buyer.user, "organisation": buyer.organisation}

    def _step(self, order_id: int, allowed: set[str], call: Any) -> bool:
        """Run a transition in a savepoint; it must succeed exactly when the model allows it."""
        try:
            with transaction.atomic():
                call()
        except services.IllegalTransition:
            assert self.status[order_id] not in allowed, self.status[order_id]
            return False
        assert self.status[order_id] in allowed, self.status[order_id]
        return True

    def _release(self, order_id: int) -> None:
        amount = self.amount[order_id]
        fee = services.platform_fee(amount)
        self.escrow[self.owner[order_id]] -= amount
        self.seller += amount - fee
        self.fees += fee

    # --- rules ---

    @rule(buyer=st.integers(0, BUYERS - 1), amount=amounts)
    def deposit(self, buyer: int, amount: int) -> None:
        self.market.deposit(self.buyers[buyer], amount)
        self.available[buyer] += amount

    @rule(buyer=st.integers(0, BUYERS - 1), amount=amounts)
    def withdraw(self, buyer: int, amount: int) -> None:
        try:
            with transaction.atomic():
                funding.request_withdrawal(
                    actor=None, organisation=self.buyers[buyer].organisation, amount_fen=amount
                )
        except ledger.InsufficientFunds:
            assert amount > self.available[buyer]
            return
        self.available[buyer] -= amount

    @rule(target=orders, buyer=st.integers(0, BUYERS - 1), plan=st.integers(0, 2))
    def order(self, buyer: int, plan: int) -> int:
        created = self.market.order(self.buyers[buyer], self.plans[plan])
        self.status[created.pk] = "created"
        self.owner[created.pk] = buyer
        self.amount[created.pk] = created.amount_fen
        return created.pk

    @rule(order_id=orders)
    def sign(self, order_id: int) -> None:
        order = Order.objects.select_related("contract").get(pk=order_id)
        if self._step(
            order_id,
            {"created"},
            lambda: services.sign_order(
                order=order, signed_hash=order.contract.content_hash, **self._who(order_id)
            ),
        ):
            self.status[order_id] = "signed"

    @rule(order_id=orders)
    def fund(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        buyer, amount = self.owner[order_id], self.amount[order_id]
        try:
            done = self._step(
                order_id,
                {"signed"},
                lambda: services.fund_order(order=order, **self._who(order_id)),
            )
        except ledger.InsufficientFunds:
            assert self.status[order_id] == "signed" and amount > self.available[buyer]
            return
        if done:
            assert amount <= self.available[buyer]
            self.available[buyer] -= amount
            self.escrow[buyer] += amount
            self.status[order_id] = "funded"

    @rule(order_id=orders)
    def download(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        before = self.status[order_id]
        try:
            with transaction.atomic():
                links = services.issue_download_links(order=order, **self._who(order_id)).links
        except services.IllegalTransition:
            assert before in {"created", "signed", "cancelled"}
            return
        except PermissionDenied:
            assert before == "settled"  # refunded: licence revoked
            assert Order.objects.get(pk=order_id).outcome == "refunded"
            return
        assert links and before not in {"created", "signed", "cancelled"}
        if before == "funded":
            self.status[order_id] = "delivered"

    @rule(order_id=orders)
    def deliver(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        seller = self.market.seller
        if self._step(
            order_id,
            {"funded"},
            lambda: services.deliver_order(
                actor=seller.user, organisation=seller.organisation, order=order
            ),
        ):
            self.status[order_id] = "delivered"

    @rule(order_id=orders)
    def accept(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        if self._step(
            order_id,
            {"delivered"},
            lambda: services.accept_order(order=order, **self._who(order_id)),
        ):
            self._release(order_id)
            self.status[order_id] = "settled"

    @rule(order_id=orders)
    def cancel(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        if self._step(
            order_id,
            {"created", "signed"},
            lambda: services.cancel_order(order=order, **self._who(order_id)),
        ):
            self.status[order_id] = "cancelled"

    @rule(order_id=orders)
    def dispute(self, order_id: int) -> None:
        order = Order.objects.get(pk=order_id)
        if self._step(
            order_id,
            {"funded", "delivered"},
            lambda: services.open_dispute(order=order, reason="不符", **self._who(order_id)),
        ):
            self.status[order_id] = "disputed"

    @rule(
        order_id=orders,
        outcome=st.sampled_from(["refund", "release", "split"]),
        share=st.integers(0, 100),
    )
    def resolve(self, order_id: int, outcome: str, share: int) -> None:
        if self.status[order_id] != "disputed":
            return
        order = Order.objects.select_related("dispute").get(pk=order_id)
        amount, buyer = self.amount[order_id], self.owner[order_id]
        to_seller = amount * share // 100
        services.resolve_dispute(
            actor=self.staff,
            dispute=order.dispute,
            outcome=outcome,
            to_seller_fen=to_seller,
            to_buyer_fen=amount - to_seller,
        )
        if outcome == "release":
            self._release(order_id)
        else:
            if outcome == "refund":
                to_seller = 0
            fee = services.platform_fee(to_seller)
            self.escrow[buyer] -= amount
            self.available[buyer] += amount - to_seller
            self.seller += to_seller - fee
            self.fees += fee
        self.status[order_id] = "settled"
        with pytest.raises(services.IllegalTransition), transaction.atomic():
            services.resolve_dispute(actor=self.staff, dispute=order.dispute, outcome="release")

    @rule(order_id=orders)
    def window_closes(self, order_id: int) -> None:
        Order.objects.filter(pk=order_id, status="delivered").update(
            accept_by=timezone.now() - timedelta(seconds=1)
        )
        due = [pk for pk, s in self.status.items() if s == "delivered"]
        now = timezone.now()
        due = [pk for pk in due if (Order.objects.get(pk=pk).accept_by or now) < now]
        assert services.auto_accept_due_orders() == len(due)
        for pk in due:
            self._release(pk)
            self.status[pk] = "settled"

    # --- invariants ---

    @invariant()
    def books_balance(self) -> None:
        report = check_ledger()
        assert report.ok, report.problems
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @invariant()
    def money_matches_the_model(self) -> None:
        for i, buyer in enumerate(self.buyers):
            org = buyer.organisation
            assert ledger.available_account(org).balance == self.available[i] >= 0
            assert ledger.escrow_account(org).balance == self.escrow[i] >= 0
            open_sum = sum(
                self.amount[pk]
                for pk, s in self.status.items()
                if s in OPEN and self.owner[pk] == i
            )
            assert self.escrow[i] == open_sum
        assert ledger.available_account(self.market.seller.organisation).balance == self.seller
        assert ledger.fee_account().balance == self.fees

    @invariant()
    def orders_match_the_model(self) -> None:
        actual = dict(Order.objects.filter(pk__in=self.status).values_list("pk", "status"))
        assert actual == self.status


@pytest.mark.django_db
def test_trading_keeps_every_ledger_invariant(local_storage: Any) -> None:
    market = Market(local_storage)
    TradeMachine.market = market
    TradeMachine.buyers = [market.buyer(funds_fen=0) for _ in range(BUYERS)]
    TradeMachine.plans = [
        market.plan(kind="free"),
        market.plan(price_fen=19_99),
        market.plan(price_fen=50_00),
    ]
    TradeMachine.staff = regulator()
    run_state_machine_as_test(
        TradeMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
