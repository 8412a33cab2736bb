"""The account pages and the wallet, server-side: API keys (secret shown once, scopes, expiry,
revocation, managers only, and the key really works against the API), webhooks (private targets
refused, secret once, the delivery log, pause and delete), withdrawals and sandbox deposits
against the real ledger."""

from __future__ import annotations

import html
import re
import socket
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from exchange.ledger import funding
from exchange.ledger import selectors as ledger_selectors
from exchange.ledger.models import Account, Deposit, Transaction, Withdrawal
from exchange.participants import services as participants
from exchange.participants.models import ApiKey
from exchange.portal import demo
from exchange.trading import webhooks
from exchange.trading.models import WebhookDelivery, WebhookEndpoint
from tests.factories import MembershipFactory, operator, regulator

pytestmark = pytest.mark.django_db(transaction=True)


def _member(role: str = "owner", kind: str = "both", **extra: Any) -> Any:
    return MembershipFactory(
        role=role, organisation__kind=kind, organisation__status="verified", **extra
    )


def _client(membership: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(membership.user)
    return client


def _field_error(page: str, field_id: str) -> str:
    """The text of the error list rendered next to a field (empty when there is none)."""
    found = re.search(rf'<ul[^>]*id="{field_id}_error"[^>]*>(.*?)</ul>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip() if found else ""


# --- API keys ---------------------------------------------------------------------------------


def test_an_api_key_is_shown_once_and_authenticates_until_revoked() -> None:
    owner = _member()
    client = _client(owner)
    expires = timezone.localdate() + timedelta(days=30)
    response = client.post(
        "/account/api-keys/",
        {"name": "trading bot", "scopes": ["read", "trade"], "expires_on": expires.isoformat()},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # the page with the secret is not cached
    key = ApiKey.objects.get(organisation=owner.organisation)
    token = re.search(r'<pre id="api-token">([^<]+)</pre>', response.content.decode()).group(1)
    assert key.matches(token) and key.prefix in token
    assert (key.name, key.scopes) == ("trading bot", ["read", "trade"])
    assert timezone.localtime(key.expires_at).date() == expires
    # Afterwards the page shows the prefix, never the secret.
    page = client.get("/account/api-keys/").content.decode()
    assert key.prefix in page and token not in page and 'id="api-token"' not in page

    api = APIClient()
    me = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {token}")
    assert me.status_code == 200, me.content
    assert me.json()["organisation"]["id"] == owner.organisation.pk
    assert sorted(me.json()["api_key_scopes"]) == ["read", "trade"]

    assert client.post(f"/account/api-keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    refused = api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {token}")
    assert refused.status_code in (401, 403)
    assert (
        f'action="/account/api-keys/{key.pk}/revoke/"'
        not in client.get("/account/api-keys/").content.decode()
    )


def test_api_key_form_errors_stay_next_to_their_fields() -> None:
    owner = _member()
    client = _client(owner)
    page = client.post(
        "/account/api-keys/",
        {"name": "kept name", "expires_on": timezone.localdate().isoformat()},
    ).content.decode()
    assert _field_error(page, "id_scopes")
    assert "after today" in _field_error(page, "id_expires_on")
    assert 'value="kept name"' in page
    page = client.post(
        "/account/api-keys/", {"name": "x", "scopes": ["root"], "expires_on": ""}
    ).content.decode()
    assert _field_error(page, "id_scopes")
    assert not ApiKey.objects.exists()


def test_a_plain_member_cannot_create_or_revoke_keys() -> None:
    owner = _member()
    member = MembershipFactory(role="member", organisation=owner.organisation)
    issued = participants.create_api_key(
        actor=owner.user, organisation=owner.organisation, name="owner's", scopes=["read"]
    )
    client = _client(member)
    page = client.get("/account/api-keys/").content.decode()
    assert 'id="api-key-form"' not in page and 'id="managers-only"' in page
    assert issued.key.prefix in page  # members may see which keys exist
    page = client.post("/account/api-keys/", {"name": "mine", "scopes": ["read"]}).content.decode()
    assert "owner or admin" in page and 'id="api-token"' not in page
    client.post(f"/account/api-keys/{issued.key.pk}/revoke/")
    assert list(ApiKey.objects.values_list("name", "revoked_at")) == [("owner's", None)]


def test_keys_of_another_organisation_cannot_be_revoked() -> None:
    owner, stranger = _member(), _member()
    issued = participants.create_api_key(
        actor=owner.user, organisation=owner.organisation, name="k", scopes=["read"]
    )
    assert _client(stranger).post(f"/account/api-keys/{issued.key.pk}/revoke/").status_code == 404
    issued.key.refresh_from_db()
    assert issued.key.revoked_at is None


# --- webhooks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9000/hook", "https://10.1.2.3/hook", "http://[::1]/x", "http://localhost/x"],
)
def test_a_private_webhook_target_is_refused_next_to_the_field(url: str, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    client = _client(_member())
    page = client.post("/account/webhooks/", {"url": url, "events": ["order.funded"]})
    text = page.content.decode()
    assert "public internet addresses" in _field_error(text, "id_url")
    assert f'value="{html.escape(url)}"' in text
    assert not WebhookEndpoint.objects.exists()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_webhook_secret_once_delivery_log_pause_and_delete(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 2  # eager Celery runs the retries at once
    owner = _member()
    client = _client(owner)
    page = client.post("/account/webhooks/", {"url": "", "events": []}).content.decode()
    assert _field_error(page, "id_url") and _field_error(page, "id_events")

    url = f"http://127.0.0.1:{_closed_port()}/hook"
    response = client.post("/account/webhooks/", {"url": url, "events": ["order.funded"]})
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get(organisation=owner.organisation)
    assert endpoint.events == ["order.funded"] and endpoint.active
    secret = endpoint.signing_secret()
    assert f'<pre id="webhook-secret">{secret}</pre>' in response.content.decode()
    later = client.get("/account/webhooks/").content.decode()
    assert secret not in later and endpoint.secret_ciphertext not in later

    # A real event is delivered (the receiver is down): the attempts show in the log.
    with demo.eager_pipeline(), transaction.atomic():
        assert webhooks.emit("order.funded", [owner.organisation.pk], {"order": 1}) == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.attempts, delivery.status) == (2, "failed") and delivery.last_error
    assert delivery.attempt_log.count() == 2
    log = client.get("/account/webhooks/").content.decode()
    section = log[log.index(f'id="log-{endpoint.pk}"') :]
    assert "order.funded" in section and "No deliveries yet." not in section
    assert html.escape(delivery.last_error) in section

    # Paused: nothing is sent; resumed; deleted. Another organisation cannot touch it.
    stranger = _client(_member())
    assert stranger.post(f"/account/webhooks/{endpoint.pk}/toggle/").status_code == 404
    assert stranger.post(f"/account/webhooks/{endpoint.pk}/delete/").status_code == 404
    client.post(f"/account/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.active is False
    with transaction.atomic():
        assert webhooks.emit("order.funded", [owner.organisation.pk], {"order": 2}) == 0
    client.post(f"/account/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert endpoint.active is True
    client.post(f"/account/webhooks/{endpoint.pk}/delete/")
    assert not WebhookEndpoint.objects.exists()


def test_a_plain_member_sees_webhooks_but_cannot_add_pause_or_delete_them(settings: Any) -> None:
    # An endpoint sends the organisation's trade events to any URL: administering one is an
    # owner's or admin's act, like an API key.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    owner = _member()
    member = MembershipFactory(role="member", organisation=owner.organisation)
    _client(owner).post(
        "/account/webhooks/", {"url": "https://hooks.example.test/in", "events": ["order.funded"]}
    )
    endpoint = WebhookEndpoint.objects.get(organisation=owner.organisation)
    client = _client(member)
    page = client.get("/account/webhooks/").content.decode()
    assert "hooks.example.test" in page and 'id="managers-only"' in page
    assert 'id="webhook-form"' not in page and "/toggle/" not in page
    page = client.post(
        "/account/webhooks/", {"url": "https://evil.example.test/in", "events": ["order.funded"]}
    ).content.decode()
    assert "owner or admin" in page and 'id="webhook-secret"' not in page
    client.post(f"/account/webhooks/{endpoint.pk}/toggle/")
    client.post(f"/account/webhooks/{endpoint.pk}/delete/")
    assert list(WebhookEndpoint.objects.values_list("url", "active")) == [
        ("https://hooks.example.test/in", True)
    ]


# --- wallet -----------------------------------------------------------------------------------


def _funded(amount_fen: int, role: str = "owner") -> Any:
    membership = _member(role=role)
    funding.record_manual_deposit(
        operator=operator(),
        organisation=membership.organisation,
        amount_fen=amount_fen,
        reason="test funds",
    )
    return membership


def _sum_of_balances() -> int:
    return sum(Account.objects.values_list("balance", flat=True))


def test_a_withdrawal_above_the_available_balance_is_refused_next_to_the_field() -> None:
    owner = _funded(100_00)
    page = _client(owner).post("/wallet/withdrawals/", {"withdraw-amount_yuan": "150.50"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "too low" in _field_error(text, "id_withdraw-amount_yuan")
    assert 'value="150.50"' in text
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 100_00
    assert not Withdrawal.objects.exists()


def test_a_withdrawal_moves_money_out_of_available_and_waits_for_the_payout() -> None:
    owner = _funded(100_00)
    client = _client(owner)
    response = client.post("/wallet/withdrawals/", {"withdraw-amount_yuan": "40.25"})
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    withdrawal = Withdrawal.objects.get(organisation=owner.organisation)
    assert (withdrawal.amount_fen, withdrawal.status) == (40_25, "pending")
    assert withdrawal.transaction is not None
    assert withdrawal.transaction.kind == Transaction.Kind.WITHDRAWAL
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 59_75
    assert _sum_of_balances() == 0
    page = client.get("/wallet/").content.decode()
    assert withdrawal.provider_reference in page and "¥40.25" in page and "¥59.75" in page


def test_a_frozen_organisation_cannot_withdraw_and_is_told_why() -> None:
    owner = _funded(100_00)
    participants.freeze_organisation(
        actor=regulator(), organisation=owner.organisation, reason="under investigation"
    )
    text = _client(owner).post("/wallet/withdrawals/", {"withdraw-amount_yuan": "10"}).content
    page = html.unescape(text.decode())
    assert "frozen" in page and "under investigation" in page
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 100_00
    assert not Withdrawal.objects.exists()


def test_a_plain_member_cannot_withdraw() -> None:
    """As over the API (exchange.ledger.api): only owners and admins move money out."""
    member = _funded(100_00, role="member")
    page = _client(member).post("/wallet/withdrawals/", {"withdraw-amount_yuan": "10"})
    assert "owner or admin" in page.content.decode()
    assert not Withdrawal.objects.exists()
    assert ledger_selectors.wallet_of(member.organisation).available_fen == 100_00


def test_a_sandbox_deposit_is_credited_once() -> None:
    owner = _member()
    client = _client(owner)
    response = client.post("/wallet/deposits/", {"deposit-amount_yuan": "200"})
    assert response.status_code == 302
    deposit = Deposit.objects.get(organisation=owner.organisation)
    assert response["Location"] == f"/wallet/deposits/{deposit.pk}/"
    assert deposit.provider_reference in client.get(response["Location"]).content.decode()
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 0
    done = client.post(f"/wallet/deposits/{deposit.pk}/simulate/")
    assert done.status_code == 302 and done["Location"] == "/wallet/"
    deposit.refresh_from_db()
    assert deposit.status == "succeeded"
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 200_00
    # Pressing the button again (a replayed callback) credits nothing more.
    client.post(f"/wallet/deposits/{deposit.pk}/simulate/")
    assert ledger_selectors.wallet_of(owner.organisation).available_fen == 200_00
    assert _sum_of_balances() == 0
    assert "¥200.00" in client.get("/wallet/").content.decode()
