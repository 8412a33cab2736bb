"""Per-key rate limits: over the limit the API answers 429 in its error format, with a
Retry-After header in whole seconds; other keys are not affected."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.api.conftest import SeededMarket

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture
def tight_limit(settings: Any) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "api_key": f"{LIMIT}/min"}
    settings.REST_FRAMEWORK = rest


def client_of(tenant: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {tenant.token}")
    return client


def test_a_key_over_its_limit_gets_429_with_retry_after(
    seeded: SeededMarket, tight_limit: None
) -> None:
    client = client_of(seeded.buyer)
    for _ in range(LIMIT):
        assert client.get("/api/v1/me/").status_code == 200
    response = client.get("/api/v1/wallet/")
    assert response.status_code == 429
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    body = response.json()
    assert body["type"] == "rate_limited"
    assert body["code"] == "throttled"
    assert body["field_errors"] == {}
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) == {"type", "code", "message", "field_errors"}


def test_writes_count_too_and_a_throttled_write_has_no_effect(
    seeded: SeededMarket, tight_limit: None
) -> None:
    from exchange.trading.models import Order

    client = client_of(seeded.stranger)
    for _ in range(LIMIT):
        client.get("/api/v1/me/")
    plan = seeded.market.listing.price_plans.first()
    count = Order.objects.count()
    response = client.post(
        "/api/v1/orders/", {"price_plan": plan.pk}, format="json", HTTP_IDEMPOTENCY_KEY="rl-1"
    )
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert Order.objects.count() == count


def test_the_limit_is_per_key(seeded: SeededMarket, tight_limit: None) -> None:
    noisy, quiet = client_of(seeded.buyer), client_of(seeded.seller)
    for _ in range(LIMIT + 2):
        noisy.get("/api/v1/me/")
    assert noisy.get("/api/v1/me/").status_code == 429
    assert quiet.get("/api/v1/me/").status_code == 200


def test_the_default_limit_is_generous(seeded: SeededMarket) -> None:
    client = client_of(seeded.buyer)
    assert all(client.get("/api/v1/me/").status_code == 200 for _ in range(LIMIT + 5))
