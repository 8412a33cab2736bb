"""Deposits, withdrawals and manual deposits over the HTTP API, with the sandbox bank."""

from __future__ import annotations

import json
import time

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from exchange.audit.models import AuditEvent
from exchange.ledger import services
from exchange.ledger.checks import check_ledger
from exchange.ledger.models import Deposit, Transaction, Withdrawal
from exchange.ledger.payments import get_provider
from exchange.ledger.payments.sandbox import sign
from tests.factories import MembershipFactory, OrganisationFactory, operator
from tests.ledger.conftest import new_key

pytestmark = pytest.mark.django_db

DEPOSITS = "/api/v1/wallet/deposits/"
WITHDRAWALS = "/api/v1/wallet/withdrawals/"
CALLBACK = "/api/v1/payments/sandbox/callback/"


def post(client: APIClient, url: str, data: dict, key: str | None = None, **headers: str):
    return client.post(url, data, format="json", HTTP_IDEMPOTENCY_KEY=key or new_key(), **headers)


def deliver(callback: dict) -> object:
    """POST a simulated bank callback exactly as the API handed it out, unauthenticated."""
    headers = {k: v for k, v in callback["headers"].items() if k != "Content-Type"}
    return APIClient().post(
        callback["url"],
        callback["body"],
        content_type="application/json",
        headers=headers,
    )


def wallet(client: APIClient) -> dict:
    response = client.get("/api/v1/wallet/")
    assert response.status_code == 200
    return response.json()


def test_a_sandbox_deposit_is_credited_once_when_the_bank_calls_back(owner_client) -> None:
    response = post(owner_client, DEPOSITS, {"amount_fen": 12_345})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sandbox"] is True and body["deposit"]["status"] == "pending"
    assert body["instructions"]["reference"] == body["deposit"]["provider_reference"]
    assert wallet(owner_client)["available_fen"] == 0

    first = deliver(body["sandbox_callback"])
    assert first.status_code == 200 and first.json() == {"result": "applied"}
    replayed = deliver(body["sandbox_callback"])
    assert replayed.status_code == 200 and replayed.json() == {"result": "already applied"}

    assert wallet(owner_client) | {"organisation": 0} == {
        "organisation": 0,
        "currency": "CNY",
        "available_fen": 12_345,
        "escrow_fen": 0,
    }
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert AuditEvent.objects.filter(action="ledger.deposit.succeeded").count() == 1
    assert check_ledger().ok


def test_the_amount_that_arrives_is_credited(owner_client) -> None:
    deposit = post(owner_client, DEPOSITS, {"amount_fen": 5_000}).json()["deposit"]
    body, headers = sign(
        {
            "event": "deposit.succeeded",
            "reference": deposit["provider_reference"],
            "amount_fen": 4_000,
        }
    )
    response = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    assert Deposit.objects.get(pk=deposit["id"]).received_fen == 4_000
    assert wallet(owner_client)["available_fen"] == 4_000


def test_a_failed_deposit_credits_nothing(owner_client) -> None:
    deposit = post(owner_client, DEPOSITS, {"amount_fen": 5_000}).json()["deposit"]
    body, headers = sign(
        {
            "event": "deposit.failed",
            "reference": deposit["provider_reference"],
            "amount_fen": 5_000,
            "reason": "payer cancelled",
        }
    )
    assert (
        APIClient()
        .post(CALLBACK, body, content_type="application/json", headers=headers)
        .status_code
        == 200
    )
    assert Deposit.objects.get(pk=deposit["id"]).status == "failed"
    assert wallet(owner_client)["available_fen"] == 0
    # A late "succeeded" for a failed deposit contradicts the record: refused.
    body, headers = sign(
        {
            "event": "deposit.succeeded",
            "reference": deposit["provider_reference"],
            "amount_fen": 5_000,
        }
    )
    late = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert late.status_code == 400 and late.json()["code"] == "callback_rejected"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda body, headers: (body.replace(b"5000", b"9000"), headers),
        lambda body, headers: (body, {"X-Sandbox-Signature": "t=1,v1=00"}),
        lambda body, headers: (body, {}),
        lambda body, headers: (
            body,
            {"X-Sandbox-Signature": headers["X-Sandbox-Signature"].replace("v1=", "v1=0")},
        ),
    ],
    ids=["tampered body", "wrong signature", "no signature", "altered signature"],
)
def test_a_callback_with_a_bad_signature_is_rejected(owner_client, mangle) -> None:
    deposit = post(owner_client, DEPOSITS, {"amount_fen": 5_000}).json()["deposit"]
    body, headers = sign(
        {
            "event": "deposit.succeeded",
            "reference": deposit["provider_reference"],
            "amount_fen": 5_000,
        }
    )
    body, headers = mangle(body, headers)
    response = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "callback_rejected"
    assert wallet(owner_client)["available_fen"] == 0


def test_a_stale_callback_is_rejected(owner_client) -> None:
    deposit = post(owner_client, DEPOSITS, {"amount_fen": 5_000}).json()["deposit"]
    body, headers = sign(
        {
            "event": "deposit.succeeded",
            "reference": deposit["provider_reference"],
            "amount_fen": 5_000,
        },
        timestamp=int(time.time()) - 301,
    )
    response = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert "window" in response.json()["message"]


def test_a_callback_for_an_unknown_reference_is_rejected() -> None:
    body, headers = sign({"event": "deposit.succeeded", "reference": "SBXD-NOPE", "amount_fen": 1})
    response = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert response.status_code == 400


def test_a_withdrawal_is_debited_at_once_and_paid_by_the_bank(
    org_owner, owner_client, fund
) -> None:
    fund(org_owner.organisation, 10_000)
    response = post(owner_client, WITHDRAWALS, {"amount_fen": 6_000})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sandbox"] is True and body["withdrawal"]["status"] == "pending"
    assert wallet(owner_client)["available_fen"] == 4_000
    assert deliver(body["sandbox_callback"]).status_code == 200
    assert Withdrawal.objects.get(pk=body["withdrawal"]["id"]).status == "paid"
    assert wallet(owner_client)["available_fen"] == 4_000
    assert services.external_account().balance == -4_000
    assert check_ledger().ok


def test_a_failed_payout_returns_the_money(org_owner, owner_client, fund) -> None:
    fund(org_owner.organisation, 10_000)
    withdrawal = post(owner_client, WITHDRAWALS, {"amount_fen": 6_000}).json()["withdrawal"]
    body, headers = sign(
        {
            "event": "withdrawal.failed",
            "reference": withdrawal["provider_reference"],
            "amount_fen": 6_000,
            "reason": "account closed",
        }
    )
    response = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    assert wallet(owner_client)["available_fen"] == 10_000
    assert Transaction.objects.filter(kind="withdrawal_reversal").count() == 1
    # Replaying the failure returns nothing twice.
    again = APIClient().post(CALLBACK, body, content_type="application/json", headers=headers)
    assert again.json() == {"result": "already applied"}
    assert wallet(owner_client)["available_fen"] == 10_000


def test_withdrawing_more_than_available_is_refused(org_owner, owner_client, fund) -> None:
    fund(org_owner.organisation, 1_000)
    response = post(owner_client, WITHDRAWALS, {"amount_fen": 1_001})
    assert response.status_code == 400
    assert "amount_fen" in response.json()["field_errors"]
    assert Withdrawal.objects.count() == 0


def test_plain_members_cannot_withdraw(org_owner, fund) -> None:
    fund(org_owner.organisation, 1_000)
    member = MembershipFactory(organisation=org_owner.organisation, role="member")
    client = APIClient()
    client.force_authenticate(member.user)
    assert post(client, WITHDRAWALS, {"amount_fen": 100}, key="k-member").status_code == 403
    # The refusal concerned the caller, not the operation: an owner may use the same key.
    owner = APIClient()
    owner.force_authenticate(org_owner.user)
    assert post(owner, WITHDRAWALS, {"amount_fen": 100}, key="k-member").status_code == 201


def test_a_frozen_organisation_can_neither_deposit_nor_withdraw(org_owner, owner_client) -> None:
    org_owner.organisation.status = "frozen"
    org_owner.organisation.save()
    for url in (DEPOSITS, WITHDRAWALS):
        response = post(owner_client, url, {"amount_fen": 100}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403
        assert "frozen" in response.json()["message"]


def test_history_lists_only_my_postings_newest_first(org_owner, owner_client, fund) -> None:
    other = OrganisationFactory()
    fund(other, 777)
    fund(org_owner.organisation, 1_000)
    post(owner_client, WITHDRAWALS, {"amount_fen": 300})
    response = owner_client.get("/api/v1/wallet/transactions/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["kind"], r["amount_fen"], r["balance_after_fen"]) for r in results] == [
        ("withdrawal", -300, 700),
        ("manual_deposit", 1_000, 1_000),
    ]
    assert all(r["account"] == "available" for r in results)


def test_history_pages_with_a_cursor(org_owner, owner_client, fund) -> None:
    for _ in range(3):
        fund(org_owner.organisation, 100)
    first = owner_client.get("/api/v1/wallet/transactions/?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    second = owner_client.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_deposit_and_withdrawal_lists_show_my_organisation_only(org_owner, owner_client) -> None:
    post(owner_client, DEPOSITS, {"amount_fen": 100})
    stranger = MembershipFactory()
    other_client = APIClient()
    other_client.force_authenticate(stranger.user)
    post(other_client, DEPOSITS, {"amount_fen": 200})
    mine = owner_client.get(DEPOSITS).json()["results"]
    assert [d["amount_fen"] for d in mine] == [100]
    assert owner_client.get(WITHDRAWALS).json()["results"] == []


def test_anonymous_callers_get_nothing() -> None:
    client = APIClient()
    for url in ("/api/v1/wallet/", "/api/v1/wallet/transactions/", DEPOSITS, WITHDRAWALS):
        assert client.get(url).status_code in (401, 403)


def test_an_operator_records_a_manual_deposit_with_a_reason(org_owner, owner_client) -> None:
    ops = operator()
    client = APIClient()
    client.force_authenticate(ops)
    data = {"organisation": org_owner.organisation.pk, "amount_fen": 50_000, "reason": "银行对账单"}
    response = post(client, "/api/v1/operator/deposits/", data)
    assert response.status_code == 201, response.content
    assert response.json()["provider"] == "manual"
    assert wallet(owner_client)["available_fen"] == 50_000
    event = AuditEvent.objects.get(action="ledger.deposit.manual")
    assert event.actor_id == ops.pk and event.changes["reason"] == "银行对账单"
    assert event.organisation_id == org_owner.organisation.pk


def test_only_operators_record_manual_deposits(org_owner, owner_client) -> None:
    data = {"organisation": org_owner.organisation.pk, "amount_fen": 50_000, "reason": "给自己"}
    response = post(owner_client, "/api/v1/operator/deposits/", data)
    assert response.status_code == 403
    assert wallet(owner_client)["available_fen"] == 0


def test_a_manual_deposit_needs_a_reason(org_owner) -> None:
    client = APIClient()
    client.force_authenticate(operator())
    data = {"organisation": org_owner.organisation.pk, "amount_fen": 1, "reason": "   "}
    assert post(client, "/api/v1/operator/deposits/", data).status_code == 400


def test_api_keys_need_the_trade_scope_to_move_money(org_owner) -> None:
    from exchange.participants.services import create_api_key

    read_only = create_api_key(
        actor=org_owner.user, organisation=org_owner.organisation, name="r", scopes=["read"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {read_only.token}")
    assert client.get("/api/v1/wallet/").status_code == 200
    assert post(client, DEPOSITS, {"amount_fen": 100}).status_code == 403
    trader = create_api_key(
        actor=org_owner.user, organisation=org_owner.organisation, name="t", scopes=["trade"]
    )
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {trader.token}")
    assert post(client, DEPOSITS, {"amount_fen": 100}).status_code == 201


def test_the_sandbox_is_refused_in_production() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(PRODUCTION=True), pytest.raises(ImproperlyConfigured):
        get_provider()
    with override_settings(PRODUCTION=True, PAYMENT_SANDBOX_ALLOWED=True):
        assert get_provider().is_sandbox


def test_simulated_callback_bodies_are_json(owner_client) -> None:
    callback = post(owner_client, DEPOSITS, {"amount_fen": 100}).json()["sandbox_callback"]
    assert json.loads(callback["body"])["event"] == "deposit.succeeded"
    assert callback["url"] == CALLBACK
