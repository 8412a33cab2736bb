"""The console's object actions call the services: the change happens, with its reason, and is
audited under the acting regulator or operator."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exchange.audit.models import AuditEvent
from exchange.ledger.models import Account
from exchange.trading.models import Dispute, Order
from tests.console.conftest import client_for
from tests.console.factories import Platform

pytestmark = pytest.mark.django_db


def action(key: str, pk: object) -> str:
    return reverse("admin:console_object_action", args=[key, pk])


def last_event(action_name: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action_name).order_by("-id").first()


def test_detail_pages_offer_the_actions_that_apply(platform: Platform) -> None:
    client = client_for(platform.regulator)
    org_page = client.get(
        reverse("admin:participants_organisation_change", args=[platform.pending_org.pk])
    ).content.decode()
    assert action("organisation-verify", platform.pending_org.pk) in org_page
    assert action("organisation-freeze", platform.pending_org.pk) in org_page
    assert action("organisation-unfreeze", platform.pending_org.pk) not in org_page
    dispute_page = client.get(
        reverse("admin:trading_dispute_change", args=[platform.dispute.pk])
    ).content.decode()
    assert action("dispute-resolve", platform.dispute.pk) in dispute_page


def test_verify_freeze_unfreeze_with_reasons_audited(platform: Platform) -> None:
    client = client_for(platform.regulator)
    org = platform.pending_org
    assert client.get(action("organisation-verify", org.pk)).status_code == 200
    assert client.post(action("organisation-verify", org.pk), {"reason": ""}).status_code == 302
    org.refresh_from_db()
    assert org.status == "verified"
    assert last_event("organisation.verified").actor_id == platform.regulator.pk

    # Freezing needs a reason: refused without one, nothing changes.
    response = client.post(action("organisation-freeze", org.pk), {"reason": "  "})
    assert response.status_code == 400
    org.refresh_from_db()
    assert org.status == "verified"

    client.post(action("organisation-freeze", org.pk), {"reason": "监管调查中"})
    org.refresh_from_db()
    assert (org.status, org.status_reason) == ("frozen", "监管调查中")
    event = last_event("organisation.frozen")
    assert event.actor_id == platform.regulator.pk
    assert event.changes["reason"] == "监管调查中"

    client.post(action("organisation-unfreeze", org.pk), {"reason": "调查结束"})
    org.refresh_from_db()
    assert org.status == "verified"
    assert last_event("organisation.unfrozen").actor_id == platform.regulator.pk


def test_action_that_no_longer_applies_changes_nothing(platform: Platform) -> None:
    client = client_for(platform.regulator)
    org = platform.seller.organisation  # already verified
    before = AuditEvent.objects.count()
    response = client.post(action("organisation-unfreeze", org.pk), {"reason": "x"})
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before
    assert client.get(action("no-such-action", org.pk)).status_code == 404


def test_revoke_api_key_and_licence(platform: Platform) -> None:
    client = client_for(platform.ops)
    client.post(action("apikey-revoke", platform.api_key.pk), {"reason": "leaked"})
    platform.api_key.refresh_from_db()
    assert platform.api_key.revoked_at is not None
    assert last_event("api_key.revoked").actor_id == platform.ops.pk

    licence = platform.delivered.licence
    assert client.post(action("licence-revoke", licence.pk), {"reason": ""}).status_code == 400
    client.post(action("licence-revoke", licence.pk), {"reason": "违反许可用途"})
    licence.refresh_from_db()
    assert licence.status == "revoked"
    assert last_event("licence.revoked").actor_id == platform.ops.pk


def test_listing_suspension_is_a_regulator_power(platform: Platform) -> None:
    listing = platform.market.listing
    operator = client_for(platform.ops)
    assert operator.post(action("listing-suspend", listing.pk), {"reason": "x"}).status_code == 403
    regulator = client_for(platform.regulator)
    regulator.post(action("listing-suspend", listing.pk), {"reason": "数据来源存疑"})
    listing.refresh_from_db()
    assert listing.status == "suspended"
    regulator.post(action("listing-reinstate", listing.pk), {"reason": ""})
    listing.refresh_from_db()
    assert listing.status == "listed"
    assert last_event("listing.reinstated").actor_id == platform.regulator.pk


def balance(org: object, kind: str) -> int:
    return Account.objects.get(organisation=org, kind=kind).balance


def test_resolve_dispute_with_a_split(platform: Platform) -> None:
    client = client_for(platform.regulator)
    dispute = platform.dispute
    amount = platform.disputed.amount_fen
    bad = client.post(
        action("dispute-resolve", dispute.pk),
        {"outcome": "split", "to_seller_fen": 1, "to_buyer_fen": 1, "reason": "各担一半"},
    )
    assert bad.status_code == 400  # the parts must add up to the order amount
    dispute.refresh_from_db()
    assert dispute.status != "resolved"

    buyer_before = balance(platform.buyer.organisation, "available")
    response = client.post(
        action("dispute-resolve", dispute.pk),
        {
            "outcome": "split",
            "to_seller_fen": amount - 50_00,
            "to_buyer_fen": 50_00,
            "reason": "部分字段缺失，退还一部分",
        },
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    order = Order.objects.get(pk=platform.disputed.pk)
    assert (dispute.status, dispute.outcome) == ("resolved", "split")
    assert order.status == "settled" and order.buyer_refunded_fen == 50_00
    assert balance(platform.buyer.organisation, "available") == buyer_before + 50_00
    event = last_event("dispute.resolved")
    assert event.actor_id == platform.regulator.pk
    assert event.changes["outcome"] == "split"
    # Resolved: the action is no longer offered, and a second attempt changes nothing.
    again = client.post(action("dispute-resolve", dispute.pk), {"outcome": "refund", "reason": "x"})
    assert again.status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).outcome == "split"


def test_resolve_dispute_with_a_refund(platform: Platform) -> None:
    client = client_for(platform.ops)
    client.post(
        action("dispute-resolve", platform.dispute.pk), {"outcome": "refund", "reason": "未交付"}
    )
    order = Order.objects.select_related("licence").get(pk=platform.disputed.pk)
    assert order.outcome == "refunded"
    assert order.licence.status == "revoked"


def test_review_queue_approve_and_reject(platform: Platform) -> None:
    client = client_for(platform.regulator)
    queue = client.get(reverse("admin:console_review_queue")).content.decode()
    review_url = reverse("admin:console_review", args=[platform.submitted.pk])
    assert review_url in queue
    page = client.get(review_url).content.decode()
    for section in (
        'id="cleaning-report"',
        'id="sample"',
        'id="table-schema"',
        'id="licence-offer"',
    ):
        assert section in page
    assert "pid_7f3a" in page  # the anonymised sample
    assert "resident_id" in page  # the report
    assert "commercial" in page.lower()  # the offer's template

    response = client.post(review_url, {"decision": "reject", "reason": ""})
    assert response.status_code == 400
    platform.submitted.refresh_from_db()
    assert platform.submitted.status == "submitted"

    client.post(review_url, {"decision": "reject", "reason": "样本中仍有未脱敏的手机号"})
    platform.submitted.refresh_from_db()
    assert platform.submitted.status == "rejected"
    event = last_event("listing.version_rejected")
    assert event.actor_id == platform.regulator.pk
    assert event.changes["reason"] == "样本中仍有未脱敏的手机号"


def test_review_approve(platform: Platform) -> None:
    client = client_for(platform.ops)
    review_url = reverse("admin:console_review", args=[platform.submitted.pk])
    assert client.post(review_url, {"decision": "approve", "reason": ""}).status_code == 302
    platform.submitted.refresh_from_db()
    assert platform.submitted.status == "approved"
    assert last_event("listing.version_approved").actor_id == platform.ops.pk
    assert (
        reverse("admin:console_review", args=[platform.submitted.pk])
        not in client.get(reverse("admin:console_review_queue")).content.decode()
    )


def test_reviewer_from_the_seller_is_refused(platform: Platform) -> None:
    from exchange.participants.models import Membership

    Membership.objects.create(user=platform.regulator, organisation=platform.seller.organisation)
    client = client_for(platform.regulator)
    review_url = reverse("admin:console_review", args=[platform.submitted.pk])
    response = client.post(review_url, {"decision": "approve"})
    assert response.status_code == 403
    platform.submitted.refresh_from_db()
    assert platform.submitted.status == "submitted"
