"""Many threads at PostgreSQL at once: no double charge, no overdraft, the books balance."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from exchange.ledger import funding, services
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Account, IdempotencyRecord, Transaction, Withdrawal
from tests.factories import MembershipFactory, OrganisationFactory, operator

THREADS = 50
WITHDRAWALS = "/api/v1/wallet/withdrawals/"


def run_at_once(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run work(i) in n threads released together; returns results (or the exceptions)."""
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


def assert_books_balance() -> None:
    report = check_ledger()
    assert report.ok, report.problems
    assert not Account.objects.filter(balance__lt=0).exclude(kind="external").exists()


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_moving_money_both_ways_never_overdraw() -> None:
    ops = operator()
    a, b = OrganisationFactory(), OrganisationFactory()
    for org in (a, b):
        funding.record_manual_deposit(operator=ops, organisation=org, amount_fen=5_000, reason="t")
    rng = random.Random(7)
    plan = [
        (rng.choice(["a->b", "b->a", "withdraw a", "withdraw b"]), rng.randint(100, 900))
        for _ in range(THREADS)
    ]

    def work(i: int) -> str:
        what, amount = plan[i]
        src, dst = (a, b) if what.endswith("a->b") or what == "withdraw a" else (b, a)
        try:
            if what.startswith("withdraw"):
                funding.request_withdrawal(actor=None, organisation=src, amount_fen=amount)
            else:
                services.transfer(
                    debit=services.available_account(src),
                    credit=services.available_account(dst),
                    amount_fen=amount,
                    reference=("test.concurrent", i),
                )
        except services.InsufficientFunds:
            return "refused"
        return "done"

    results = run_at_once(work)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    done = [plan[i] for i, r in enumerate(results) if r == "done"]
    withdrawn = sum(amount for what, amount in done if what.startswith("withdraw"))
    balances = {
        org: Account.objects.get(organisation=org, kind="available").balance for org in (a, b)
    }
    # Transfers move money between a and b; only withdrawals take it out.
    assert balances[a] + balances[b] == 10_000 - withdrawn
    assert Transaction.objects.filter(kind="withdrawal").count() == sum(
        1 for what, _ in done if what.startswith("withdraw")
    )
    assert_books_balance()


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_withdrawals_over_the_api_cannot_overspend() -> None:
    owner = MembershipFactory(role="owner")
    funding.record_manual_deposit(
        operator=operator(), organisation=owner.organisation, amount_fen=10_000, reason="t"
    )

    def work(i: int) -> int:
        client = APIClient()
        client.force_authenticate(owner.user)
        response = client.post(
            WITHDRAWALS, {"amount_fen": 300}, format="json", HTTP_IDEMPOTENCY_KEY=f"w-{i}"
        )
        return response.status_code

    codes = Counter(run_at_once(work))
    assert set(codes) <= {201, 400}, codes
    assert codes[201] == 10_000 // 300  # 33 fit; the other 17 are refused, none overdraws
    available = Account.objects.get(organisation=owner.organisation, kind="available")
    assert available.balance == 10_000 - 300 * codes[201]
    assert_books_balance()


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_fifty_times_moves_money_once() -> None:
    owner = MembershipFactory(role="owner")
    funding.record_manual_deposit(
        operator=operator(), organisation=owner.organisation, amount_fen=10_000, reason="t"
    )

    def work(i: int) -> tuple[int, dict, str | None]:
        client = APIClient()
        client.force_authenticate(owner.user)
        response = client.post(
            WITHDRAWALS, {"amount_fen": 700}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
        )
        return response.status_code, response.json(), response.headers.get("Idempotent-Replayed")

    results = run_at_once(work)
    assert not [r for r in results if isinstance(r, Exception)]
    codes = Counter(code for code, _, _ in results)
    assert set(codes) <= {201, 409}, codes
    originals = [body for code, body, replayed in results if code == 201 and not replayed]
    replays = [body for code, body, replayed in results if code == 201 and replayed == "true"]
    assert len(originals) == 1
    assert all(body == originals[0] for body in replays)
    assert all(
        body["code"] == "idempotency_key_in_flight" for code, body, _ in results if code == 409
    )
    assert Withdrawal.objects.count() == 1
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert IdempotencyRecord.objects.get(key="same-key").status == "completed"
    available = Account.objects.get(organisation=owner.organisation, kind="available")
    assert available.balance == 10_000 - 700

    client = APIClient()
    client.force_authenticate(owner.user)
    changed = client.post(
        WITHDRAWALS, {"amount_fen": 701}, format="json", HTTP_IDEMPOTENCY_KEY="same-key"
    )
    assert changed.status_code == 422
    assert Withdrawal.objects.count() == 1
    assert_books_balance()
