"""`make run`'s demo data: built through the real services and pipeline, complete, consistent and
idempotent (it runs on every start)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from exchange.ledger.selectors import wallet_of
from exchange.participants.models import Organisation, User
from exchange.portal import demo
from exchange.trading.models import Order
from listings.models import Listing, ListingVersion

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> tuple[int, ...]:
    return (
        User.objects.count(),
        Organisation.objects.count(),
        Listing.objects.count(),
        ListingVersion.objects.count(),
        Order.objects.count(),
    )


def test_seed_demo_builds_a_complete_market_and_is_idempotent(settings: Any, tmp_path: Any) -> None:
    from exchange.storage import reset_storage_cache

    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path
    reset_storage_cache()
    try:
        call_command("seed_demo", stdout=StringIO())
        first = _counts()
        call_command("seed_demo", stdout=StringIO())
        assert _counts() == first, "a second start must create nothing new"
    finally:
        reset_storage_cache()

    sellers = Organisation.objects.filter(listings__isnull=False).distinct()
    assert sellers.count() == 3
    listed = Listing.objects.filter(status=Listing.Status.LISTED)
    assert listed.count() >= 12
    assert len(set(listed.values_list("category", flat=True))) >= 8
    for version in ListingVersion.objects.all():
        assert version.pipeline_status == ListingVersion.PipelineStatus.PUBLISHED
        assert version.cleaning_report and version.sample_rows

    # The generated files were full of personal data; none of it reached a published sample.
    secrets: set[str] = set()
    for n, theme in enumerate(t[4] for t in _demo_listings()):
        secrets |= demo.pii_csv(theme, rows=80, seed=n + 1)[1]
    published = json.dumps(
        list(ListingVersion.objects.values_list("sample_rows", flat=True)), ensure_ascii=False
    )
    assert secrets and [s for s in secrets if s in published] == []

    settled = Order.objects.filter(status=Order.Status.SETTLED)
    assert settled.count() == 3
    buyers = Organisation.objects.filter(orders_bought__isnull=False).distinct()
    assert buyers.count() == 2
    for buyer in buyers:
        assert wallet_of(buyer).available_fen > 0 and wallet_of(buyer).escrow_fen == 0
    for email in ("operator@demo.example", "regulator@demo.example"):
        assert User.objects.get(email=email).is_staff

    out = StringIO()
    call_command("ledger_check", stdout=out)
    call_command("audit_verify", stdout=out)
    assert "OK" in out.getvalue()


def _demo_listings() -> list[tuple[Any, ...]]:
    from exchange.participants.management.commands.seed_demo import DEMO_LISTINGS

    return list(DEMO_LISTINGS)
