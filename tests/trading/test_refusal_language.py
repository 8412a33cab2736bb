"""Refusals from the service layer reach the user in the language they asked for: the portal
(LocaleMiddleware, Accept-Language) and the API's `message` / `field_errors`. English reads
exactly as it always has."""

from __future__ import annotations

import html
import uuid

import pytest
from django.test import Client

from exchange.participants import services as participants
from tests.trading.conftest import client_for
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def page_text(client: Client, plan_id: int) -> str:
    response = client.post("/orders/new/", {"plan": plan_id}, follow=True)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_the_portal_shows_a_frozen_buyer_why_in_its_language(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    participants.freeze_organisation(
        actor=market.ops, organisation=buyer.organisation, reason="涉嫌数据泄露"
    )
    buyer.organisation.refresh_from_db()
    name = buyer.organisation.name
    since = f"{buyer.organisation.status_changed_at:%Y-%m-%d}"

    zh = Client(**ZH)
    zh.force_login(buyer.user)
    assert (
        f"机构“{name}”自 {since} 起已被冻结：涉嫌数据泄露。在监管方解除冻结之前，该机构不能下单。"
    ) in page_text(zh, plan.pk)

    en = Client(**EN)
    en.force_login(buyer.user)
    assert (
        f"Organisation '{name}' is frozen since {since}: 涉嫌数据泄露. "
        "It cannot place orders until a regulator unfreezes it."
    ) in page_text(en, plan.pk)


def test_the_api_refuses_a_frozen_organisation_in_the_language_asked_for(market: Market) -> None:
    plan = market.plan()
    buyer = market.buyer()
    participants.freeze_organisation(
        actor=market.ops, organisation=buyer.organisation, reason="under investigation"
    )
    client = client_for(buyer)
    body = {"price_plan": plan.pk, "choices": {}}

    zh = client.post(ORDERS, body, format="json", **ZH)
    assert zh.status_code == 403
    assert zh.json()["message"].endswith("在监管方解除冻结之前，该机构不能转移数据或资金。")
    en = client.post(ORDERS, body, format="json", **EN)
    assert en.status_code == 403
    assert en.json()["message"].endswith(
        ": under investigation. It cannot move data or money until a regulator unfreezes it."
    )


def test_the_api_names_an_illegal_step_and_a_short_balance_in_chinese(market: Market) -> None:
    plan = market.plan(price_fen=100_00)
    buyer = market.buyer(funds_fen=10_00)
    client = client_for(buyer)
    order = client.post(ORDERS, {"price_plan": plan.pk, "choices": {}}, format="json", **EN)
    assert order.status_code == 201, order.json()
    fund = f"{ORDERS}{order.json()['id']}/fund/"

    # Funding before signing: the order's status is named as a word, not a code.
    zh = client.post(fund, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **ZH)
    assert zh.status_code == 409, zh.json()
    assert zh.json()["message"] == "“已创建”状态的订单不能付款。"
    en = client.post(fund, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **EN)
    assert en.json()["message"] == "A created order cannot be funded."

    signed = client.post(
        f"{ORDERS}{order.json()['id']}/sign/",
        {"contract_hash": order.json()["contract"]["content_hash"]},
        **EN,
    )
    assert signed.status_code == 200, signed.json()
    short = client.post(fund, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **ZH)
    assert short.status_code == 400, short.json()
    assert short.json()["field_errors"] == {"amount_fen": ["可用余额不足以支付此金额。"]}
    short = client.post(fund, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **EN)
    assert short.json()["field_errors"] == {
        "amount_fen": ["The available balance is too low for this amount."]
    }
