"""Idempotency-Key semantics (Stripe's) on money-moving calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from exchange.ledger.idempotency import purge_expired
from exchange.ledger.models import Deposit, IdempotencyRecord, Transaction, Withdrawal
from exchange.ledger.tasks import purge_idempotency_keys
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

WITHDRAWALS = "/api/v1/wallet/withdrawals/"
DEPOSITS = "/api/v1/wallet/deposits/"


@pytest.fixture
def funded_client(org_owner, owner_client, fund) -> APIClient:
    fund(org_owner.organisation, 10_000)
    return owner_client


def withdraw(client: APIClient, key: str | None, amount: int = 1_000, **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(WITHDRAWALS, {"amount_fen": amount, **extra}, format="json", **headers)


def test_a_money_moving_call_without_a_key_is_refused(funded_client) -> None:
    for key in (None, "", "x" * 256):
        response = withdraw(funded_client, key)
        assert response.status_code == 400
        assert response.json()["code"] == "idempotency_key_missing"
        assert "Idempotency-Key" in response.json()["message"]
    assert Withdrawal.objects.count() == 0


def test_the_same_key_and_body_replays_the_first_response(funded_client) -> None:
    first = withdraw(funded_client, "k-1")
    again = withdraw(funded_client, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert Withdrawal.objects.count() == 1
    assert Transaction.objects.filter(kind="withdrawal").count() == 1


def test_key_order_and_spacing_of_the_body_do_not_matter(funded_client) -> None:
    withdraw(funded_client, "k-order")
    raw = '{ "amount_fen" :  1000 }'
    again = funded_client.post(
        WITHDRAWALS, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-order"
    )
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_422(funded_client) -> None:
    withdraw(funded_client, "k-2", amount=1_000)
    response = withdraw(funded_client, "k-2", amount=2_000)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Withdrawal.objects.count() == 1


def test_the_same_key_on_another_endpoint_is_422(funded_client) -> None:
    withdraw(funded_client, "k-3")
    response = funded_client.post(
        DEPOSITS, {"amount_fen": 1_000}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert response.status_code == 422
    assert Deposit.objects.filter(provider="sandbox_bank_transfer").count() == 0


def test_a_request_in_flight_answers_409(org_owner, funded_client) -> None:
    now = timezone.now()
    first = withdraw(funded_client, "k-4")  # stores a record; make it look in flight again
    record = IdempotencyRecord.objects.get(key="k-4")
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status="in_flight", response_status=None, response_body=None, locked_at=now
    )
    response = withdraw(funded_client, "k-4")
    assert first.status_code == 201
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"


def test_a_crashed_request_is_reclaimed_after_the_lock_timeout(org_owner, funded_client) -> None:
    long_ago = timezone.now() - timedelta(minutes=10)
    IdempotencyRecord.objects.create(
        principal=f"org:{org_owner.organisation.pk}",
        key="k-5",
        method="POST",
        path=WITHDRAWALS,
        request_hash=_hash_of(WITHDRAWALS, {"amount_fen": 1_000}),
        locked_at=long_ago,
        created_at=long_ago,
        expires_at=long_ago + timedelta(hours=24),
    )
    response = withdraw(funded_client, "k-5")
    assert response.status_code == 201
    assert IdempotencyRecord.objects.get(key="k-5").status == "completed"
    assert Withdrawal.objects.count() == 1


def _hash_of(path: str, data: dict) -> str:
    from exchange.ledger.idempotency import fingerprint

    return fingerprint("POST", path, data)


def test_an_error_response_is_stored_and_replayed(org_owner, owner_client, fund) -> None:
    fund(org_owner.organisation, 500)
    first = withdraw(owner_client, "k-6", amount=1_000)
    assert first.status_code == 400
    fund(org_owner.organisation, 5_000)
    again = withdraw(owner_client, "k-6", amount=1_000)
    assert again.status_code == 400 and again.headers["Idempotent-Replayed"] == "true"
    assert withdraw(owner_client, "k-7", amount=1_000).status_code == 201


def test_keys_are_scoped_per_organisation(funded_client, fund) -> None:
    other = MembershipFactory()
    fund(other.organisation, 5_000)
    client = APIClient()
    client.force_authenticate(other.user)
    assert withdraw(funded_client, "shared-key").status_code == 201
    response = withdraw(client, "shared-key", amount=2_000)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert Withdrawal.objects.count() == 2


def test_keys_are_kept_a_day_then_purged(funded_client) -> None:
    withdraw(funded_client, "k-8")
    record = IdempotencyRecord.objects.get(key="k-8")
    assert record.expires_at - record.created_at >= timedelta(hours=24)
    assert purge_expired(timezone.now() + timedelta(hours=23)) == 0
    IdempotencyRecord.objects.filter(pk=record.pk).update(expires_at=timezone.now())
    assert purge_idempotency_keys.apply().get() == 1
    assert not IdempotencyRecord.objects.filter(key="k-8").exists()


def test_an_expired_key_may_be_used_again(funded_client) -> None:
    withdraw(funded_client, "k-9")
    IdempotencyRecord.objects.filter(key="k-9").update(expires_at=timezone.now())
    response = withdraw(funded_client, "k-9", amount=2_000)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert Withdrawal.objects.count() == 2
