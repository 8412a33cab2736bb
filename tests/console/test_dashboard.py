"""Dashboard figures against figures computed independently (plain Python over the rows) on
generated data."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from exchange.console import stats
from exchange.participants.models import Organisation
from exchange.trading.models import Dispute, Order
from exchange.web.templatetags.portal import pii_label
from listings.models import Listing, ListingVersion
from listings.pipeline.models import Upload
from tests.console.conftest import client_for
from tests.console.factories import CLEANING_REPORT, Platform

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)


def add_trades(platform: Platform, rng: random.Random) -> None:
    """Funded orders on three listings of different categories, spread over days; a few orders
    stay unfunded and must not count."""
    market = platform.market
    plans = [platform.plan]
    for category in ("transport", "finance_risk"):
        market.listing = Listing.objects.create(
            seller=market.seller.organisation, title=f"数据集 {category}", category=category,
            status="listed",
        )  # fmt: skip
        market.v1 = market.version(1)
        plans.append(market.plan(price_fen=rng.choice([99_00, 1234_56, 5_00])))
    buyer = market.buyer(funds_fen=100_000_00)
    for _ in range(9):
        market.funded(buyer, rng.choice(plans))
    market.signed(buyer, plans[1])  # signed, never funded
    tz = timezone.get_current_timezone()
    for order in Order.objects.filter(funded_at__isnull=False):
        # Some land just after local midnight: the day is the platform's, not UTC's.
        day = TODAY - timedelta(days=rng.randrange(0, 12))
        moment = datetime(day.year, day.month, day.day, rng.choice([0, 7, 23]), 30, tzinfo=tz)
        Order.objects.filter(pk=order.pk).update(funded_at=moment)


def independent_per_day(start: date, end: date) -> dict[date, tuple[int, int]]:
    figures: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for order in Order.objects.all():
        if order.funded_at is None:
            continue
        day = timezone.localtime(order.funded_at).date()
        if start <= day <= end:
            figures[day][0] += 1
            figures[day][1] += order.amount_fen
    return {d: (v[0], v[1]) for d, v in figures.items()}


def independent_per_category(start: date, end: date) -> dict[str, tuple[int, int]]:
    figures: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for order in Order.objects.select_related("listing"):
        if order.funded_at and start <= timezone.localtime(order.funded_at).date() <= end:
            figures[order.listing.category][0] += 1
            figures[order.listing.category][1] += order.amount_fen
    return {c: (v[0], v[1]) for c, v in figures.items()}


@pytest.mark.parametrize("seed", [1, 2])
def test_trade_figures_match_an_independent_count(platform: Platform, seed: int) -> None:
    add_trades(platform, random.Random(seed))
    start, end = TODAY - timedelta(days=6), TODAY
    per_day = stats.trades_per_day(start, end)
    assert [d.day for d in per_day] == [start + timedelta(days=i) for i in range(7)]
    expected = independent_per_day(start, end)
    assert {d.day: (d.trades, d.value_fen) for d in per_day if d.trades} == expected
    assert all(d.value_fen == 0 for d in per_day if d.day not in expected)
    per_category = stats.trades_per_category(start, end)
    assert {c.category: (c.trades, c.value_fen) for c in per_category} == (
        independent_per_category(start, end)
    )

    page = client_for(platform.regulator).get(
        reverse("admin:index"), {"start": start.isoformat(), "end": end.isoformat()}
    )
    html = page.content.decode()
    assert page.status_code == 200
    total = sum(t for t, _ in expected.values())
    assert f'<span id="fig-total-trades">{total}</span>' in html
    for category, (trades, value) in independent_per_category(start, end).items():
        assert (
            f'<tr data-category="{category}">' in html
            and f'<td class="trades">{trades}</td><td class="value">{value}</td>' in html
        )
    assert html.count('<g class="bar">') == 7 * 2 + len(per_category)


def test_review_dispute_organisation_and_pipeline_counts(platform: Platform) -> None:
    Organisation.objects.create(name="待审机构", kind="buyer", uscc="91110000MA00000007")
    counts = {
        "pending": sum(1 for v in ListingVersion.objects.all() if v.status == "submitted"),
        "disputes": sum(1 for d in Dispute.objects.all() if d.status != "resolved"),
        "orgs": sum(1 for o in Organisation.objects.all() if o.status == "pending"),
        "failed": sum(1 for u in Upload.objects.all() if u.status == "failed"),
    }
    assert counts == {"pending": 1, "disputes": 1, "orgs": 2, "failed": 1}
    dash = stats.dashboard()
    assert dash.pending_reviews == counts["pending"]
    assert dash.open_disputes == counts["disputes"]
    assert dash.awaiting_verification == counts["orgs"]
    assert dash.failed_runs == counts["failed"]
    html = client_for(platform.ops).get(reverse("admin:index")).content.decode()
    assert '<span class="figure" id="fig-pending-reviews">1</span>' in html
    assert '<span class="figure" id="fig-open-disputes">1</span>' in html
    assert '<span class="figure" id="fig-awaiting-verification">2</span>' in html
    assert '<span class="figure" id="fig-failed-runs">1</span>' in html


def random_report(rng: random.Random) -> dict[str, Any]:
    kinds = ["resident_id", "mobile", "email", "bank_card", "name"]
    columns = []
    for i in range(rng.randrange(1, 5)):
        cls = rng.choice(["identifier", "quasi_identifier", "free_text", "other"])
        columns.append(
            {
                "name": f"c{i}",
                "classification": cls,
                "type": rng.choice(kinds) if cls != "other" else None,
                "counts": {"non_empty_cells": rng.randrange(0, 1000), "changed_cells": 0},
            }
        )
    free = {k: rng.randrange(1, 50) for k in rng.sample(kinds, rng.randrange(0, 3))}
    return {"columns": columns, "free_text_findings": free}


def test_personal_information_findings_by_type(platform: Platform) -> None:
    rng = random.Random(7)
    listing = platform.market.listing
    for number in range(3, 9):
        ListingVersion.objects.create(
            listing=listing, number=number, status="draft",
            pipeline_status=rng.choice(["published", "published", "failed"]),
            cleaning_report=random_report(rng),
        )  # fmt: skip
    columns: Counter[str] = Counter()
    values: Counter[str] = Counter()
    free: Counter[str] = Counter()
    for version in ListingVersion.objects.filter(pipeline_status="published"):
        report = version.cleaning_report or {}
        for column in report.get("columns", []):
            if column["classification"] in ("identifier", "quasi_identifier") and column["type"]:
                columns[column["type"]] += 1
                values[column["type"]] += column["counts"]["non_empty_cells"]
        free.update(report.get("free_text_findings", {}))
    expected = {k: (columns[k], values[k], free[k]) for k in set(columns) | set(free)}
    figures = stats.pii_findings_by_type()
    assert {f.kind: (f.columns, f.column_values, f.free_text_findings) for f in figures} == expected
    assert CLEANING_REPORT["free_text_findings"]["email"] <= free["email"]
    html = client_for(platform.regulator).get(reverse("admin:index")).content.decode()
    for kind, (n_columns, n_values, n_free) in expected.items():
        # The type is shown in words (English here), the code stays in data-kind.
        with translation.override("en"):
            label = escape(pii_label(kind))
        assert (
            f'<tr data-kind="{kind}"><td>{label}</td><td class="columns">{n_columns}</td>'
            f'<td class="values">{n_values}</td><td class="free">{n_free}</td></tr>'
        ) in html
