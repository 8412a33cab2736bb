"""Webhooks: signed POSTs to a real local receiver, retries with backoff, the delivery log, the
beat job's claim, and signature verification including replay protection."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from exchange.participants.models import Membership
from exchange.trading import services, tasks, webhooks
from exchange.trading.models import WebhookDelivery, WebhookEndpoint
from tests.trading.conftest import Receiver
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db


def endpoint_for(market: Market, org: Any, url: str, events: list[str]) -> WebhookEndpoint:
    return services.create_webhook_endpoint(
        actor=Membership.objects.get(organisation=org, role=Membership.Role.OWNER).user,
        organisation=org,
        url=url,
        events=events,
    )


def test_funding_sends_a_signed_order_funded_event(market: Market, receiver: Receiver) -> None:
    plan = market.plan()
    buyer = market.buyer()
    endpoint = endpoint_for(market, market.seller.organisation, receiver.url, ["order.funded"])
    order = market.funded(buyer, plan)
    [delivery] = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.event == "order.funded" and delivery.payload["data"]["order"]["id"] == order.pk

    result = webhooks.attempt_delivery(delivery.pk)
    assert result is not None and result.delivered
    [(headers, body)] = receiver.received
    assert headers["x-exchange-event"] == "order.funded"
    assert headers["x-exchange-delivery"] == str(delivery.pk)
    signature = headers["x-exchange-signature"]
    assert signature.startswith(f"t={headers['x-exchange-timestamp']},v1=")
    assert webhooks.verify_signature(endpoint.signing_secret(), signature, body)
    assert not webhooks.verify_signature(endpoint.signing_secret(), signature, body + b" ")
    assert not webhooks.verify_signature("whsec_wrong", signature, body)
    # An old capture replayed later is refused by its timestamp.
    assert not webhooks.verify_signature(
        endpoint.signing_secret(), signature, body, now=time.time() + 301
    )
    assert json.loads(body)["data"]["order"]["status"] == "funded"
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert list(delivery.attempt_log.values_list("status_code", flat=True)) == [200]
    # Delivered once: a second attempt does nothing.
    assert webhooks.attempt_delivery(delivery.pk) is None


def test_failed_deliveries_are_retried_with_exponential_backoff(
    market: Market, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    receiver.status = 500
    endpoint = endpoint_for(market, market.seller.organisation, receiver.url, ["order.funded"])
    market.funded(market.buyer(), market.plan())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    scheduled: list[int] = []
    monkeypatch.setattr(
        tasks.deliver_webhook,
        "apply_async",
        lambda args, countdown: scheduled.append(countdown),
    )
    for _ in range(4):
        tasks.deliver_webhook.apply(args=[str(delivery.pk)]).get()
    assert scheduled == [30, 60, 120]
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 4
    log = list(delivery.attempt_log.values_list("number", "status_code", "next_retry_in_seconds"))
    assert log == [(1, 500, 30), (2, 500, 60), (3, 500, 120), (4, 500, None)]
    assert len(receiver.received) == 4
    # Every attempt is signed afresh and verifies.
    assert all(
        webhooks.verify_signature(endpoint.signing_secret(), h["x-exchange-signature"], b)
        for h, b in receiver.received
    )


def test_backoff_is_capped(settings: Any) -> None:
    settings.WEBHOOK_BACKOFF_BASE_SECONDS = 30
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 3600
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3, 7, 8, 20)] == [
        30, 60, 120, 1920, 3600, 3600,
    ]  # fmt: skip


def test_unreachable_endpoint_is_logged_and_retried(market: Market, settings: Any) -> None:
    endpoint = endpoint_for(
        market, market.seller.organisation, "http://127.0.0.1:9/nothing", ["order.funded"]
    )
    market.funded(market.buyer(), market.plan())
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    result = webhooks.attempt_delivery(delivery.pk)
    assert result is not None and not result.delivered and result.retry_in == 30
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_error
    assert delivery.next_attempt_at > timezone.now()


def test_private_targets_are_refused_at_send_time_too(market: Market, settings: Any) -> None:
    endpoint = endpoint_for(
        market, market.seller.organisation, "http://127.0.0.1:9/x", ["order.funded"]
    )
    market.funded(market.buyer(), market.plan())
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    result = webhooks.attempt_delivery(delivery.pk)
    assert result is not None and "public address" in result.error


def test_overdue_retries_are_claimed_once_by_the_beat_job(market: Market) -> None:
    endpoint = endpoint_for(
        market, market.seller.organisation, "http://127.0.0.1:9/x", ["order.funded"]
    )
    market.funded(market.buyer(), market.plan())
    WebhookDelivery.objects.filter(endpoint=endpoint).update(
        next_attempt_at=timezone.now() - timedelta(minutes=10)
    )
    now = timezone.now()
    first = webhooks.claim_overdue(now)
    second = webhooks.claim_overdue(now)
    assert len(first) == 1 and second == []


def test_only_subscribed_events_of_the_organisation_are_sent(market: Market) -> None:
    buyer = market.buyer()
    mine = endpoint_for(market, buyer.organisation, "https://a.example.test/", ["order.settled"])
    other_org = market.buyer()
    theirs = endpoint_for(
        market, other_org.organisation, "https://b.example.test/", ["order.funded"]
    )
    order = market.delivered(buyer, market.plan())
    services.accept_order(actor=buyer.user, organisation=buyer.organisation, order=order)
    assert list(WebhookDelivery.objects.filter(endpoint=mine).values_list("event", flat=True)) == [
        "order.settled"
    ]
    assert not WebhookDelivery.objects.filter(endpoint=theirs).exists()


def test_a_regulators_revocation_is_announced_to_the_licensee(market: Market) -> None:
    """However a licence is revoked (a regulator here, a refund in the lifecycle tests), the
    licensee's endpoint gets one `licence.revoked` event naming the licence, order and reason."""
    from licensing.services import revoke_licence
    from tests.factories import regulator

    buyer = market.buyer()
    hook = endpoint_for(market, buyer.organisation, "https://a.example.test/", ["licence.revoked"])
    seller_hook = endpoint_for(
        market, market.seller.organisation, "https://s.example.test/", ["licence.revoked"]
    )
    order = market.funded(buyer, market.plan())
    revoke_licence(licence=order.licence, actor=regulator(), reason="unlawful source reported")
    deliveries = list(WebhookDelivery.objects.filter(endpoint=hook))
    assert [d.event for d in deliveries] == ["licence.revoked"]
    assert deliveries[0].payload["data"] == {
        "licence": {
            "id": str(order.licence_id),
            "order": order.pk,
            "reason": "unlawful source reported",
        }
    }
    assert not WebhookDelivery.objects.filter(endpoint=seller_hook).exists()
