"""CSV exports match the database, honour the period, are Excel-safe and are audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exchange.audit.models import AuditEvent
from exchange.console.exports import AUDIT_COLUMNS, TRADE_COLUMNS
from exchange.trading.models import Order
from listings.models import Listing
from tests.console.conftest import client_for
from tests.console.factories import Platform

pytestmark = pytest.mark.django_db


def download(client: object, kind: str, start: date, end: date) -> list[dict[str, str]]:
    response = client.get(
        reverse("admin:console_export_csv", args=[kind]),
        {"start": start.isoformat(), "end": end.isoformat()},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_trades_export_matches_the_database_for_the_period(platform: Platform) -> None:
    market = platform.market
    # A hostile title: a spreadsheet must show it as text, not run it.
    Listing.objects.filter(pk=market.listing.pk).update(title='=HYPERLINK("http://x","点我")')
    extra = market.funded(platform.buyer, platform.plan)
    tz = timezone.get_current_timezone()
    inside = datetime(2026, 3, 10, 0, 15, tzinfo=tz)  # 16:15 UTC the day before
    outside = datetime(2026, 3, 12, 9, 0, tzinfo=tz)
    Order.objects.filter(pk=platform.delivered.pk).update(funded_at=inside)
    Order.objects.filter(pk=platform.disputed.pk).update(funded_at=inside + timedelta(hours=5))
    Order.objects.filter(pk=extra.pk).update(funded_at=outside)

    rows = download(client_for(platform.regulator), "trades", date(2026, 3, 10), date(2026, 3, 11))
    assert list(rows[0].keys()) == TRADE_COLUMNS
    expected = Order.objects.filter(pk__in=[platform.delivered.pk, platform.disputed.pk])
    assert [int(r["order_id"]) for r in rows] == sorted(o.pk for o in expected)
    for row in rows:
        order = Order.objects.select_related("listing", "buyer", "seller", "contract").get(
            pk=row["order_id"]
        )
        assert int(row["amount_fen"]) == order.amount_fen
        assert row["status"] == order.status
        assert int(row["buyer_id"]) == order.buyer_id and row["buyer_name"] == order.buyer.name
        assert int(row["seller_id"]) == order.seller_id
        assert row["category"] == order.listing.category
        assert row["contract_reference"] == order.contract.reference
        assert datetime.fromisoformat(row["funded_at"]) == order.funded_at
        assert row["listing_title"] == "'" + order.listing.title  # neutralised formula

    event = AuditEvent.objects.filter(action="console.exported").latest("id")
    assert event.actor_id == platform.regulator.pk
    assert event.changes == {"kind": "trades", "start": "2026-03-10", "end": "2026-03-11"}


def test_audit_export_matches_the_log_for_the_period(platform: Platform) -> None:
    today = timezone.localdate()
    client = client_for(platform.ops)
    rows = download(client, "audit", today, today)
    assert list(rows[0].keys()) == AUDIT_COLUMNS
    events = {e.pk: e for e in AuditEvent.objects.all()}
    exported_ids = [int(r["id"]) for r in rows]
    in_period = sorted(
        pk for pk, e in events.items() if timezone.localtime(e.created_at).date() == today
    )
    # The export's own audit event is written before the rows are read, so it is included.
    assert exported_ids == in_period
    for row in rows:
        event = events[int(row["id"])]
        assert row["action"] == event.action and row["hash"] == event.hash
        assert row["prev_hash"] == event.prev_hash
        assert row["object_type"] == event.object_type and row["object_id"] == event.object_id
        assert row["actor_label"] == (event.actor_label or "")
        changes = row["changes"]
        assert json.loads(changes[1:] if changes.startswith("'") else changes) == event.changes

    assert download(client, "audit", today - timedelta(days=3), today - timedelta(days=1)) == []


def test_bad_period_is_refused(platform: Platform) -> None:
    client = client_for(platform.regulator)
    url = reverse("admin:console_export_csv", args=["trades"])
    assert client.get(url, {"start": "2026-03-10", "end": "2026-03-01"}).status_code == 400
    assert client.get(url, {"start": "yesterday"}).status_code == 400
    assert client.get(reverse("admin:console_export_csv", args=["users"]), {
        "start": "2026-03-01", "end": "2026-03-10"}).status_code == 404  # fmt: skip
    assert client.get(reverse("admin:console_exports")).status_code == 200
