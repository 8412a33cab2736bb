"""Browsing the audit log by actor, organisation, object, action and time; verifying the chain."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from exchange.audit.models import AuditEvent
from tests.console.conftest import client_for
from tests.console.factories import Platform

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_auditevent_changelist"


def listed_ids(client: object, **params: str) -> set[int]:
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    html = response.content.decode()
    assert "?e=1" not in response.get("Location", "")
    return {int(pk) for pk in re.findall(r"/admin/audit/auditevent/(\d+)/change/", html)}


def test_filters_match_the_log(platform: Platform) -> None:
    client = client_for(platform.regulator)
    events = list(AuditEvent.objects.all())
    assert len(events) < 100  # one page: every match is listed
    buyer_org = platform.buyer.organisation

    by_actor = {e.pk for e in events if e.actor_id == platform.buyer.user.pk}
    assert by_actor and listed_ids(client, actor=str(platform.buyer.user.pk)) == by_actor
    assert listed_ids(client, actor=platform.buyer.user.email) == by_actor

    by_org = {e.pk for e in events if e.organisation_id == buyer_org.pk}
    assert by_org and listed_ids(client, organisation=str(buyer_org.pk)) == by_org
    assert listed_ids(client, organisation=buyer_org.name) == by_org

    order_events = {
        e.pk
        for e in events
        if (e.object_type, e.object_id) == ("trading.order", str(platform.disputed.pk))
    }
    assert order_events == listed_ids(client, object=f"trading.order:{platform.disputed.pk}")
    assert listed_ids(client, object="trading.dispute") == {
        e.pk for e in events if e.object_type == "trading.dispute"
    }

    assert listed_ids(client, action__exact="dispute.opened") == {
        e.pk for e in events if e.action == "dispute.opened"
    }
    today = timezone.localdate()
    assert listed_ids(client, **{"from": today.isoformat(), "to": today.isoformat()}) == {
        e.pk for e in events
    }
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert listed_ids(client, **{"from": tomorrow}) == set()
    # Filters combine.
    combined = listed_ids(client, actor=str(platform.buyer.user.pk), action__exact="dispute.opened")
    assert combined == {
        e.pk
        for e in events
        if e.actor_id == platform.buyer.user.pk and e.action == "dispute.opened"
    }


def test_verify_chain_shows_the_result_and_is_audited(platform: Platform) -> None:
    client = client_for(platform.regulator)
    assert client.get(reverse("admin:console_audit_verify")).status_code == 200
    count = AuditEvent.objects.count()
    html = client.post(reverse("admin:console_audit_verify")).content.decode()
    assert f"OK: {count} audit entries, chain intact" in html
    event = AuditEvent.objects.latest("id")
    assert event.action == "audit.chain_verified" and event.actor_id == platform.regulator.pk
    assert event.changes == {"ok": True, "count": count, "broken_id": None}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="tampering bypasses PG triggers")
def test_verify_chain_names_a_tampered_entry(platform: Platform) -> None:
    victim = AuditEvent.objects.order_by("id")[3]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE audit_auditevent SET action = 'rewritten' WHERE id = %s", [victim.pk]
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
    html = client_for(platform.ops).post(reverse("admin:console_audit_verify")).content.decode()
    assert f"BROKEN at entry #{victim.pk}" in html
    assert reverse("admin:audit_auditevent_change", args=[victim.pk]) in html
    assert AuditEvent.objects.latest("id").changes["broken_id"] == victim.pk
