"""Idempotency-Key over the API: order creation honours it (Stripe's semantics), and every
money-moving call requires it. The semantics themselves are tested in tests/ledger."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from exchange.ledger.idempotency import fingerprint
from exchange.ledger.models import Deposit, IdempotencyRecord, Transaction, Withdrawal
from exchange.trading.models import Dispute, Order
from licensing.models import Contract
from tests.api.conftest import SeededMarket, seed_market
from tests.factories import operator, regulator
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def api_client(seeded_tenant: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {seeded_tenant.token}")
    return client


def create_order(client: APIClient, plan_id: int, key: str | None, **extra: Any) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    body = {"price_plan": plan_id, "choices": {}, **extra}
    return client.post(ORDERS, body, format="json", **headers)


# --- POST /orders/ --------------------------------------------------------------------------------


def test_the_same_key_and_body_create_one_order(seeded: SeededMarket) -> None:
    client = api_client(seeded.stranger)
    plan = seeded.market.listing.price_plans.first()
    before = Order.objects.count(), Contract.objects.count()
    first = create_order(client, plan.pk, "order-1")
    again = create_order(client, plan.pk, "order-1")
    assert first.status_code == again.status_code == 201, first.json()
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (Order.objects.count(), Contract.objects.count()) == (before[0] + 1, before[1] + 1)
    order = Order.objects.get(pk=first.json()["id"])
    assert order.buyer == seeded.stranger.membership.organisation


def test_the_same_key_with_another_body_is_422_and_creates_nothing(seeded: SeededMarket) -> None:
    client = api_client(seeded.stranger)
    plan = seeded.market.listing.price_plans.first()
    assert create_order(client, plan.pk, "order-2").status_code == 201
    count = Order.objects.count()
    changed = create_order(client, plan.pk, "order-2", listing_version=seeded.market.v1.number)
    assert changed.status_code == 422
    assert changed.json() == {
        "type": "unprocessable",
        "code": "idempotency_key_reused",
        "message": changed.json()["message"],
        "field_errors": {},
    }
    assert Order.objects.count() == count


def test_a_key_in_flight_answers_409(seeded: SeededMarket) -> None:
    client = api_client(seeded.stranger)
    plan = seeded.market.listing.price_plans.first()
    body: dict[str, Any] = {"price_plan": plan.pk, "choices": {}}
    now = timezone.now()
    IdempotencyRecord.objects.create(
        principal=f"org:{seeded.stranger.membership.organisation_id}",
        key="order-3",
        method="POST",
        path=ORDERS,
        request_hash=fingerprint("POST", ORDERS, body),
        locked_at=now,
        created_at=now,
        expires_at=now + timedelta(hours=24),
    )
    count = Order.objects.count()
    response = client.post(ORDERS, body, format="json", HTTP_IDEMPOTENCY_KEY="order-3")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert Order.objects.count() == count


@pytest.fixture
def tx_market(transactional_db: None, local_storage: Any, settings: Any) -> Market:
    settings.PLATFORM_FEE_BPS = 500
    return Market(local_storage)


def test_concurrent_posts_with_one_key_create_one_order(tx_market: Market) -> None:
    market = tx_market
    seeded = seed_market(market)
    plan = market.listing.price_plans.first()
    count = Order.objects.count()
    codes: list[int] = []
    bodies: list[Any] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        try:
            client = api_client(seeded.stranger)
            barrier.wait()
            response = create_order(client, plan.pk, "order-race")
            codes.append(response.status_code)
            bodies.append(response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(codes) <= {201, 409}, codes
    assert 201 in codes
    assert Order.objects.count() == count + 1
    created = {b["id"] for b, c in zip(bodies, codes, strict=True) if c == 201}
    assert len(created) == 1


def test_a_refusal_is_replayed_too(seeded: SeededMarket) -> None:
    """The key names one attempt: its 404 (a plan the caller may not see) replays as well."""
    client = api_client(seeded.stranger)
    first = create_order(client, 10**9, "order-4")
    again = create_order(client, 10**9, "order-4")
    assert first.status_code == again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"


def test_without_a_key_each_post_is_a_new_order(seeded: SeededMarket) -> None:
    """Order creation moves no money: the key is optional (recommended) there."""
    client = api_client(seeded.stranger)
    plan = seeded.market.listing.price_plans.first()
    count = Order.objects.count()
    assert create_order(client, plan.pk, None).status_code == 201
    assert create_order(client, plan.pk, None).status_code == 201
    assert Order.objects.count() == count + 2


def test_a_malformed_key_is_refused(seeded: SeededMarket) -> None:
    client = api_client(seeded.stranger)
    plan = seeded.market.listing.price_plans.first()
    count = Order.objects.count()
    response = create_order(client, plan.pk, "x" * 256)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
    assert Order.objects.count() == count


def test_keys_are_scoped_to_the_organisation(seeded: SeededMarket) -> None:
    plan = seeded.market.listing.price_plans.first()
    mine = create_order(api_client(seeded.stranger), plan.pk, "shared-key")
    theirs = create_order(api_client(seeded.buyer), plan.pk, "shared-key")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]


# --- every money-moving call requires the key ----------------------------------------------------


def _money_calls(seeded: SeededMarket) -> list[tuple[str, str, dict[str, Any], APIClient]]:
    buyer = api_client(seeded.buyer)
    ops = APIClient()
    ops.force_authenticate(operator())
    staff = APIClient()
    staff.force_authenticate(regulator())
    orders = seeded.orders
    organisation = seeded.buyer.membership.organisation_id
    return [
        ("fund", f"{ORDERS}{orders['signed'].pk}/fund/", {}, buyer),
        ("accept", f"{ORDERS}{orders['delivered'].pk}/accept/", {}, buyer),
        (
            "resolve",
            f"/api/v1/disputes/{orders['disputed'].dispute.pk}/resolve/",
            {"outcome": "refund"},
            staff,
        ),
        ("deposit", "/api/v1/wallet/deposits/", {"amount_fen": 100}, buyer),
        ("withdraw", "/api/v1/wallet/withdrawals/", {"amount_fen": 100}, buyer),
        (
            "operator deposit",
            "/api/v1/operator/deposits/",
            {"organisation": organisation, "amount_fen": 100, "reason": "wire"},
            ops,
        ),
    ]


def _money_state() -> tuple[Any, ...]:
    return (
        Transaction.objects.count(),
        Deposit.objects.count(),
        Withdrawal.objects.count(),
        sorted(Order.objects.values_list("pk", "status")),
        sorted(Dispute.objects.values_list("pk", "status")),
    )


def test_every_money_moving_call_requires_the_key(seeded: SeededMarket) -> None:
    before = _money_state()
    for name, url, body, client in _money_calls(seeded):
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (name, response.json())
        assert response.json()["code"] == "idempotency_key_missing", name
    assert _money_state() == before


def test_every_money_moving_call_replays_and_refuses_a_changed_body(
    seeded: SeededMarket,
) -> None:
    for name, url, body, client in _money_calls(seeded):
        key = str(uuid.uuid4())
        first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert first.status_code in (200, 201), (name, first.json())
        state = _money_state()
        again = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert again.status_code == first.status_code, name
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        changed = client.post(url, {**body, "extra": 1}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert changed.status_code == 422, (name, changed.json())
        assert _money_state() == state, name


def test_the_schema_names_the_key_on_every_money_moving_operation() -> None:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    def key_parameter(path: str) -> dict[str, Any] | None:
        for parameter in paths[path]["post"].get("parameters", []):
            if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
                return dict(parameter)
        return None

    required = [
        "/api/v1/orders/{order_id}/fund/",
        "/api/v1/orders/{order_id}/accept/",
        "/api/v1/disputes/{dispute_id}/resolve/",
        "/api/v1/wallet/deposits/",
        "/api/v1/wallet/withdrawals/",
        "/api/v1/operator/deposits/",
    ]
    for path in required:
        parameter = key_parameter(path)
        assert parameter is not None and parameter.get("required") is True, path
    optional = key_parameter("/api/v1/orders/")
    assert optional is not None and not optional.get("required")
