"""Many threads at PostgreSQL at once: no double charge, no overdraft, one winner per race."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from exchange.ledger import services as ledger
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Account, Transaction
from exchange.trading import services
from exchange.trading.models import Order
from tests.factories import operator, regulator
from tests.trading.conftest import client_for
from tests.trading.factories import Market

THREADS = 50


def run_at_once(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def kinds(results: list[Any]) -> Counter[str]:
    return Counter("ok" if not isinstance(r, Exception) else type(r).__name__ for r in results)


def assert_books_balance() -> None:
    report = check_ledger()
    assert report.ok, report.problems
    assert not Account.objects.filter(balance__lt=0).exclude(kind="external").exists()


@pytest.fixture
def tx_market(transactional_db: None, local_storage: Any) -> Market:
    return Market(local_storage)


def test_fifty_threads_funding_and_accepting_same_and_different_orders(tx_market: Market) -> None:
    market = tx_market
    plan = market.plan(price_fen=30_00)
    # Buyer A can afford 3 of its 10 orders; buyer B all of its 5.
    a, b = market.buyer(funds_fen=90_00), market.buyer(funds_fen=150_00)
    orders = [market.signed(a, plan) for _ in range(10)] + [
        market.signed(b, plan) for _ in range(5)
    ]
    shared = orders[10]  # everyone from B hammers this one too
    buyer_of = {o.pk: (a if o.buyer_id == a.organisation_id else b) for o in orders}

    def work(i: int) -> str:
        # Threads 0-29 try every order twice; threads 30-49 all try the shared one.
        order = orders[i % len(orders)] if i < 30 else shared
        who = buyer_of[order.pk]
        try:
            services.fund_order(actor=who.user, organisation=who.organisation, order=order)
        except ledger.InsufficientFunds:
            return "refused"
        except services.IllegalTransition:
            return "already"
        return "funded"

    results = run_at_once(work)
    assert all(isinstance(r, str) for r in results), [r for r in results if not isinstance(r, str)]
    funded = Order.objects.filter(status="funded")
    holds = Transaction.objects.filter(kind="escrow_hold")
    assert holds.count() == funded.count() == Counter(results)["funded"]
    assert sorted(h.reference_id for h in holds) == sorted(str(o.pk) for o in funded)
    assert funded.filter(buyer=a.organisation).count() == 3
    assert funded.filter(buyer=b.organisation).count() == 5
    assert ledger.escrow_account(a.organisation).balance == 90_00
    assert ledger.available_account(a.organisation).balance == 0
    assert_books_balance()

    # Now 50 threads deliver-and-accept the funded orders, many on the same order.
    for order in funded:
        services.deliver_order(
            actor=market.seller.user, organisation=market.seller.organisation, order=order
        )
    delivered = list(Order.objects.filter(status="delivered"))

    def accept(i: int) -> str:
        order = delivered[i % len(delivered)]
        who = buyer_of[order.pk]
        try:
            services.accept_order(actor=who.user, organisation=who.organisation, order=order)
        except services.IllegalTransition:
            return "already"
        return "accepted"

    results = run_at_once(accept)
    assert Counter(results)["accepted"] == len(delivered)
    assert Transaction.objects.filter(kind="escrow_release").count() == len(delivered)
    assert ledger.available_account(market.seller.organisation).balance == 8 * (30_00 - 1_50)
    assert ledger.fee_account().balance == 8 * 1_50
    assert_books_balance()


def test_same_idempotency_key_fifty_times_is_one_transaction(tx_market: Market) -> None:
    market = tx_market
    plan = market.plan(price_fen=10_00)
    buyer = market.buyer(funds_fen=1_000_00)
    order = market.signed(buyer, plan)
    idem = str(uuid.uuid4())

    def work(i: int) -> int:
        response = client_for(buyer).post(
            f"/api/v1/orders/{order.pk}/fund/", HTTP_IDEMPOTENCY_KEY=idem
        )
        return int(response.status_code)

    codes = Counter(run_at_once(work))
    assert set(codes) <= {200, 409}, codes
    assert codes[200] >= 1
    assert Transaction.objects.filter(kind="escrow_hold").count() == 1
    assert ledger.escrow_account(buyer.organisation).balance == 10_00
    # The same key on another request (another order's fund) is refused.
    other = market.signed(buyer, plan)
    reused = client_for(buyer).post(f"/api/v1/orders/{other.pk}/fund/", HTTP_IDEMPOTENCY_KEY=idem)
    assert reused.status_code == 422
    assert_books_balance()


def test_release_racing_refund_exactly_one_wins(tx_market: Market) -> None:
    market = tx_market
    plan = market.plan(price_fen=50_00)
    buyer = market.buyer()
    staff = [regulator(), operator()]
    for _ in range(3):
        order = market.delivered(buyer, plan)
        dispute = services.open_dispute(
            actor=buyer.user, organisation=buyer.organisation, order=order, reason="x"
        )

        def work(i: int, dispute: Any = dispute) -> str:
            outcome = "release" if i % 2 else "refund"
            services.resolve_dispute(actor=staff[i % 2], dispute=dispute, outcome=outcome)
            return outcome

        results = run_at_once(work, n=10)
        wins = [r for r in results if isinstance(r, str)]
        assert len(wins) == 1, results
        assert all(isinstance(r, services.IllegalTransition) for r in results if r not in wins)
        order.refresh_from_db()
        assert order.outcome == {"release": "released", "refund": "refunded"}[wins[0]]
        # reference_type too: a deposit can carry the same number as the order.
        moved = Transaction.objects.filter(
            reference_type="trading.order", reference_id=str(order.pk)
        ).exclude(kind="escrow_hold")
        assert moved.count() == 1
    assert ledger.escrow_account(buyer.organisation).balance == 0
    assert_books_balance()


def test_accept_racing_dispute_exactly_one_wins(tx_market: Market) -> None:
    market = tx_market
    plan = market.plan(price_fen=20_00)
    buyer = market.buyer()
    order = market.delivered(buyer, plan)

    def work(i: int) -> str:
        who = {"actor": buyer.user, "organisation": buyer.organisation, "order": order}
        if i % 2:
            services.accept_order(**who)
            return "accepted"
        services.open_dispute(reason="bad", **who)
        return "disputed"

    results = run_at_once(work, n=20)
    wins = [r for r in results if isinstance(r, str)]
    assert len(wins) == 1, kinds(results)
    order.refresh_from_db()
    assert order.status == ("settled" if wins[0] == "accepted" else "disputed")
    assert_books_balance()


def test_auto_accept_run_twice_at_once_settles_once(tx_market: Market) -> None:
    market = tx_market
    plan = market.plan(price_fen=10_00)
    buyer = market.buyer()
    orders = [market.delivered(buyer, plan) for _ in range(6)]
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        accept_by=timezone.now() - timedelta(minutes=1)
    )
    results = run_at_once(lambda i: services.auto_accept_due_orders(), n=4)
    assert sum(results) == 6, results
    assert Transaction.objects.filter(kind="escrow_release").count() == 6
    assert Order.objects.filter(status="settled").count() == 6
    assert_books_balance()


def test_creates_racing_funds_accepts_and_disputes_never_deadlock(tx_market: Market) -> None:
    """create_order takes the chain lock late (after rendering and inserting the contract), every
    other transition first. Mixed on overlapping orders and buyers, nothing deadlocks, every step
    either acts or is refused cleanly, the books balance and the audit chain verifies."""
    from exchange.audit.verify import verify_chain

    market = tx_market
    plan = market.plan(price_fen=10_00)
    buyers = [market.buyer(funds_fen=40_00), market.buyer(funds_fen=40_00)]
    signed = [market.signed(buyers[i % 2], plan) for i in range(6)]
    delivered = [market.delivered(buyers[i % 2], plan) for i in range(4)]
    party = {b.organisation_id: b for b in buyers}

    def work(i: int) -> str:
        step = i % 4
        buyer = buyers[i % 2]
        try:
            if step == 0:
                services.create_order(
                    actor=buyer.user, buyer=buyer.organisation, price_plan=plan, choices={}
                )
            elif step == 1:
                order = signed[i % len(signed)]
                who = party[order.buyer_id]
                services.fund_order(actor=who.user, organisation=who.organisation, order=order)
            elif step == 2:
                order = delivered[(i // 4) % len(delivered)]
                who = party[order.buyer_id]
                services.accept_order(actor=who.user, organisation=who.organisation, order=order)
            else:
                order = delivered[(i // 4 + 1) % len(delivered)]
                who = party[order.buyer_id]
                services.open_dispute(
                    actor=who.user, organisation=who.organisation, order=order, reason="bad"
                )
        except (ledger.InsufficientFunds, services.IllegalTransition):
            return "refused"
        return "ok"

    results = run_at_once(work)
    assert all(isinstance(r, str) for r in results), [
        repr(r) for r in results if not isinstance(r, str)
    ][:3]
    assert Order.objects.count() == 6 + 4 + Counter(results[0::4])["ok"] == 10 + 13
    assert not Order.objects.filter(status="delivered").exists()  # each accepted or disputed
    assert_books_balance()
    assert verify_chain().ok


def test_freezing_a_party_while_it_trades_never_deadlocks(tx_market: Market) -> None:
    """A regulator freezing and unfreezing an organisation locks its row, while trades that hold
    the audit chain's lock check their foreign keys to that row at commit. Status changes lock
    the row FOR NO KEY UPDATE (it never changes the key), which does not conflict with those
    checks, so neither side waits for the other in a cycle."""
    from exchange.audit.verify import verify_chain
    from exchange.participants import services as participants
    from exchange.participants.models import Organisation

    market = tx_market
    plan = market.plan(price_fen=10_00)
    buyer = market.buyer(funds_fen=1_000_00)
    seller_org = market.seller.organisation
    staff = regulator()
    signed = [market.signed(buyer, plan) for _ in range(20)]
    delivered = [market.delivered(buyer, plan) for _ in range(20)]

    def work(i: int) -> str:
        try:
            if i % 5 == 0:
                org = Organisation.objects.get(pk=seller_org.pk)
                if (i // 5) % 2:
                    participants.unfreeze_organisation(actor=staff, organisation=org, reason="ok")
                else:
                    participants.freeze_organisation(actor=staff, organisation=org, reason="check")
            elif i % 5 in (1, 2):
                services.fund_order(
                    actor=buyer.user, organisation=buyer.organisation, order=signed[i % 20]
                )
            else:
                services.accept_order(
                    actor=buyer.user, organisation=buyer.organisation, order=delivered[i % 20]
                )
        except (participants.OrganisationFrozen, services.IllegalTransition):
            return "refused"
        return "ok"

    results = run_at_once(work)
    assert all(isinstance(r, str) for r in results), [
        repr(r) for r in results if not isinstance(r, str)
    ][:3]
    assert_books_balance()
    assert verify_chain().ok


def test_replacing_contracts_while_their_orders_are_funded_never_deadlocks(
    tx_market: Market,
) -> None:
    """Funding takes the audit chain's lock and then the contract's row (to issue the licence);
    replacing a contract locks its row and then appends to the chain. Licensing takes the chain
    lock first too, so the two never wait for each other in a cycle."""
    from exchange.audit.verify import verify_chain
    from licensing import services as licensing

    market = tx_market
    plan = market.plan(price_fen=10_00)
    buyer = market.buyer(funds_fen=1_000_00)
    signed = [market.signed(buyer, plan) for _ in range(12)]

    def work(i: int) -> str:
        order = signed[i % 12]
        if i < 12:
            services.fund_order(actor=buyer.user, organisation=buyer.organisation, order=order)
        else:
            licensing.replace_contract(contract=order.contract, actor=buyer.user, choices={})
        return "ok"

    results = run_at_once(work, 24)
    assert results == ["ok"] * 24, [repr(r) for r in results if r != "ok"][:3]
    assert Order.objects.filter(status="funded").count() == 12
    assert_books_balance()
    assert verify_chain().ok
