"""The trading API end to end: the whole trade, idempotency, tenants, regulators, webhooks CRUD."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.ledger import services as ledger
from exchange.participants.models import Membership
from exchange.participants.services import create_api_key
from exchange.trading.models import DownloadLink, Order, WebhookEndpoint
from tests.factories import UserFactory, regulator
from tests.trading.conftest import client_for
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


def key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def trade_until_funded(client: APIClient, plan_id: int) -> dict[str, Any]:
    created = client.post(ORDERS, {"price_plan": plan_id, "choices": {}}, format="json")
    assert created.status_code == 201, created.json()
    order = created.json()
    signed = client.post(
        f"{ORDERS}{order['id']}/sign/", {"contract_hash": order["contract"]["content_hash"]}
    )
    assert signed.status_code == 200, signed.json()
    funded = client.post(f"{ORDERS}{order['id']}/fund/", **key())
    assert funded.status_code == 200, funded.json()
    return dict(funded.json())


def test_full_trade_through_the_api(market: Market) -> None:
    plan = market.plan(price_fen=100_00)
    buyer = market.buyer()
    client = client_for(buyer)
    order = trade_until_funded(client, plan.pk)
    assert order["status"] == "funded" and order["licence"]

    links = client.post(f"{ORDERS}{order['id']}/download-links/", {}, format="json")
    assert links.status_code == 200, links.json()
    body = links.json()
    assert body["order"]["status"] == "delivered"
    [link] = body["links"]
    assert link["file"] == "traffic-v1.csv" and link["url"].startswith("http")

    accept_key = key()
    accepted = client.post(f"{ORDERS}{order['id']}/accept/", **accept_key)
    assert accepted.status_code == 200 and accepted.json()["status"] == "settled"
    replay = client.post(f"{ORDERS}{order['id']}/accept/", **accept_key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    again = client.post(f"{ORDERS}{order['id']}/accept/", **key())
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert ledger.available_account(market.seller.organisation).balance == 95_00

    listed = client.get(ORDERS, {"role": "buyer", "status": "settled"})
    assert [o["id"] for o in listed.json()["results"]] == [order["id"]]
    seller_view = client_for(market.seller).get(ORDERS, {"role": "seller"})
    assert [o["id"] for o in seller_view.json()["results"]] == [order["id"]]


def test_money_moving_calls_need_an_idempotency_key(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    client = client_for(buyer)
    order = client.post(ORDERS, {"price_plan": plan.pk}, format="json").json()
    client.post(
        f"{ORDERS}{order['id']}/sign/", {"contract_hash": order["contract"]["content_hash"]}
    )
    missing = client.post(f"{ORDERS}{order['id']}/fund/")
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_missing"
    assert Order.objects.get(pk=order["id"]).status == "signed"


def test_other_tenants_get_404_everywhere(market: Market) -> None:
    plan = market.plan()
    buyer, other = market.buyer(), market.buyer()
    order = trade_until_funded(client_for(buyer), plan.pk)
    stranger = client_for(other)
    base = f"{ORDERS}{order['id']}/"
    assert stranger.get(base).status_code == 404
    assert stranger.get(ORDERS).json()["results"] == []
    for action in ("sign/", "download-links/", "deliver/", "cancel/", "dispute/"):
        assert stranger.post(base + action, {}, format="json").status_code == 404, action
    for action in ("fund/", "accept/"):
        assert stranger.post(base + action, **key()).status_code == 404, action
    assert not DownloadLink.objects.exists()
    assert APIClient().get(base).status_code in (401, 403)


def test_plans_of_a_private_listing_are_orderable_by_named_buyers_only(market: Market) -> None:
    plan = market.plan()
    named, other = market.buyer(), market.buyer()
    market.listing.visibility = "private"
    market.listing.save(update_fields=["visibility"])
    market.listing.allowed_buyers.add(named.organisation)
    body = {"price_plan": plan.pk, "choices": {}}
    assert client_for(other).post(ORDERS, body, format="json").status_code == 404
    assert client_for(named).post(ORDERS, body, format="json").status_code == 201
    market.listing.status = "suspended"
    market.listing.save(update_fields=["status"])
    assert client_for(named).post(ORDERS, body, format="json").status_code == 404
    assert not Order.objects.filter(buyer=other.organisation).exists()


def test_download_links_refused_before_funding_and_after_refund(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    client = client_for(buyer)
    order = client.post(ORDERS, {"price_plan": plan.pk}, format="json").json()
    early = client.post(f"{ORDERS}{order['id']}/download-links/", {}, format="json")
    assert early.status_code == 409
    client.post(
        f"{ORDERS}{order['id']}/sign/", {"contract_hash": order["contract"]["content_hash"]}
    )
    client.post(f"{ORDERS}{order['id']}/fund/", **key())
    dispute = client.post(
        f"{ORDERS}{order['id']}/dispute/",
        {"reason": "未收到数据", "evidence": [{"text": "no file"}]},
        format="json",
    )
    assert dispute.status_code == 201, dispute.json()
    staff = APIClient()
    staff.force_authenticate(regulator())
    resolved = staff.post(
        f"/api/v1/disputes/{dispute.json()['id']}/resolve/", {"outcome": "refund"}, **key()
    )
    assert resolved.status_code == 200, resolved.json()
    late = client.post(f"{ORDERS}{order['id']}/download-links/", {}, format="json")
    assert late.status_code == 403
    assert not DownloadLink.objects.exists()


def test_regulators_read_everything_and_write_only_through_resolve(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    order = trade_until_funded(client_for(buyer), plan.pk)
    staff = APIClient()
    staff.force_authenticate(regulator())
    assert staff.get(f"{ORDERS}{order['id']}/").status_code == 200
    assert [o["id"] for o in staff.get(ORDERS).json()["results"]] == [order["id"]]
    assert staff.post(f"{ORDERS}{order['id']}/accept/", **key()).status_code == 403
    assert staff.post(f"{ORDERS}{order['id']}/deliver/").status_code == 403


def test_seller_delivers_and_responds_to_a_dispute(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    client = client_for(buyer)
    order = trade_until_funded(client, plan.pk)
    seller = client_for(market.seller)
    delivered = seller.post(f"{ORDERS}{order['id']}/deliver/")
    assert delivered.status_code == 200 and delivered.json()["accept_by"]
    dispute = client.post(f"{ORDERS}{order['id']}/dispute/", {"reason": "质量不符"}, format="json")
    dispute_id = dispute.json()["id"]
    answer = seller.post(
        f"/api/v1/disputes/{dispute_id}/respond/", {"response": "数据符合描述"}, format="json"
    )
    assert answer.status_code == 200 and answer.json()["status"] == "responded"
    assert client.get(f"/api/v1/disputes/{dispute_id}/").json()["seller_response"] == "数据符合描述"
    assert client_for(market.buyer()).get(f"/api/v1/disputes/{dispute_id}/").status_code == 404


def test_resolve_idempotency_key_with_a_changed_body_is_422(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    client = client_for(buyer)
    order = trade_until_funded(client, plan.pk)
    dispute = client.post(f"{ORDERS}{order['id']}/dispute/", {"reason": "x"}, format="json").json()
    staff = APIClient()
    staff.force_authenticate(regulator())
    same = key()
    url = f"/api/v1/disputes/{dispute['id']}/resolve/"
    first = staff.post(url, {"outcome": "release"}, format="json", **same)
    assert first.status_code == 200
    changed = staff.post(url, {"outcome": "refund"}, format="json", **same)
    assert changed.status_code == 422
    assert Order.objects.get(pk=order["id"]).outcome == "released"


def test_api_keys_need_the_trade_scope_to_move_money(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    order = market.signed(buyer, plan)
    issued = create_api_key(
        actor=buyer.user, organisation=buyer.organisation, name="bot", scopes=["read"]
    )
    bot = APIClient()
    bot.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.token}")
    assert bot.get(f"{ORDERS}{order.pk}/").status_code == 200
    assert bot.post(f"{ORDERS}{order.pk}/fund/", **key()).status_code == 403


def test_webhook_endpoints_show_the_secret_once(market: Market, settings: Any) -> None:
    buyer = market.buyer()
    client = client_for(buyer)
    created = client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.test/in", "events": ["order.funded", "order.settled"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    endpoint_id = created.json()["id"]
    listed = client.get("/api/v1/webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [endpoint_id] and "secret" not in listed[0]
    assert "secret" not in client.get(f"/api/v1/webhooks/{endpoint_id}/").json()
    assert client_for(market.buyer()).get(f"/api/v1/webhooks/{endpoint_id}/").status_code == 404
    rotated = client.patch(f"/api/v1/webhooks/{endpoint_id}/", {"rotate_secret": True})
    assert rotated.json()["secret"] != created.json()["secret"]
    assert client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/").status_code == 200
    bad = client.post(
        "/api/v1/webhooks/", {"url": "ftp://x.test/", "events": ["order.funded"]}, format="json"
    )
    assert bad.status_code == 400
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    private = client.post(
        "/api/v1/webhooks/",
        {"url": "http://127.0.0.1:9/hook", "events": ["order.funded"]},
        format="json",
    )
    assert private.status_code == 400
    metadata = client.post(
        "/api/v1/webhooks/",
        {"url": "http://169.254.169.254/latest", "events": ["order.funded"]},
        format="json",
    )
    assert metadata.status_code == 400
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204


def test_only_owners_and_admins_administer_webhook_endpoints(market: Market) -> None:
    owner = market.buyer()
    member = Membership.objects.create(
        user=UserFactory(), organisation=owner.organisation, role=Membership.Role.MEMBER
    )
    admin = Membership.objects.create(
        user=UserFactory(), organisation=owner.organisation, role=Membership.Role.ADMIN
    )
    hook = {"url": "https://hooks.example.test/in", "events": ["order.funded"]}
    refused = client_for(member).post(
        "/api/v1/webhooks/", hook, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 403 and "owner or admin" in refused.json()["message"]
    created = client_for(admin).post("/api/v1/webhooks/", hook, format="json")
    assert created.status_code == 201
    endpoint = f"/api/v1/webhooks/{created.json()['id']}/"
    plain = client_for(member)
    assert plain.get(endpoint).status_code == 200  # members may see where events go
    assert plain.patch(endpoint, {"active": False}, format="json").status_code == 403
    assert plain.delete(endpoint).status_code == 403
    assert WebhookEndpoint.objects.get().active is True
