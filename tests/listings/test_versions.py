"""Schema diff between versions, the release signal, sanitised descriptions, price plans."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from listings import schema_diff, services
from listings.models import PricePlan
from listings.signals import version_released
from tests.listings.factories import listed, make_listing, new_version, publish

V1 = {
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "integer"},
        {"name": "city", "type": "string"},
    ]
}
V2 = {
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "amount", "type": "number"},
        {"name": "district", "type": "string"},
        {"name": "note"},
    ]
}


def test_diff_names_added_removed_and_retyped_columns() -> None:
    assert schema_diff.diff_schemas(V1, V2) == {
        "added": [{"name": "district", "type": "string"}, {"name": "note", "type": "any"}],
        "removed": [{"name": "city", "type": "string"}],
        "retyped": [{"name": "amount", "old_type": "integer", "new_type": "number"}],
    }
    assert schema_diff.is_empty(schema_diff.diff_schemas(V1, V1))
    assert schema_diff.diff_schemas(None, V1)["added"][0]["name"] == "id"


field = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "c", "d", "e"]),
        "type": st.sampled_from(["string", "integer", "date"]),
    }
)
schemas = st.lists(field, max_size=5, unique_by=lambda f: f["name"]).map(lambda f: {"fields": f})


@given(old=schemas, new=schemas)
def test_diff_is_consistent(old, new) -> None:
    diff = schema_diff.diff_schemas(old, new)
    reverse = schema_diff.diff_schemas(new, old)
    assert diff["added"] == reverse["removed"] and diff["removed"] == reverse["added"]
    # Applying the diff to the old column names yields the new ones.
    names = {f["name"] for f in old["fields"]}
    names -= {c["name"] for c in diff["removed"]}
    names |= {c["name"] for c in diff["added"]}
    assert names == {f["name"] for f in new["fields"]}


@pytest.mark.django_db(transaction=True)
def test_publish_stores_the_diff_and_approval_announces_it(seller, reg) -> None:
    listing = listed(seller, reg, schema=V1)
    assert listing.latest_version.schema_diff is None  # nothing to compare the first one with
    received = []

    def receiver(sender, version, schema_diff, **kwargs):
        received.append((version.number, schema_diff))

    version_released.connect(receiver)
    try:
        v2 = publish(new_version(seller, listing, "renamed city"), schema=V2)
        assert v2.schema_diff == schema_diff.diff_schemas(V1, V2)
        services.submit_version(actor=seller.user, organisation=seller.organisation, version=v2)
        services.approve_version(actor=reg, version=v2)
    finally:
        version_released.disconnect(receiver)
    assert received == [(2, schema_diff.diff_schemas(V1, V2))]
    listing.refresh_from_db()
    assert listing.latest_version_id == v2.pk
    # The diff is shown through the API and on the page, and the column names are searchable.
    body = APIClient().get(f"/api/v1/listings/{listing.pk}/versions/2/").json()
    assert body["schema_diff"]["removed"] == [{"name": "city", "type": "string"}]
    page = APIClient().get(f"/datasets/{listing.pk}/").content.decode()
    assert "district" in page and "integer → number" in page
    found = APIClient().get("/api/v1/listings/", {"q": "district"}).json()
    assert [r["id"] for r in found["results"]] == [listing.pk]


@pytest.mark.django_db
def test_description_is_sanitised(seller) -> None:
    listing = make_listing(
        seller,
        description=(
            "[click](javascript:alert(1)) <script>alert(2)</script> "
            '<img src=x onerror="alert(3)"> **ok** [site](https://example.test)'
        ),
    )
    html = listing.description_html
    assert "<strong>ok</strong>" in html
    assert "javascript:" not in html and "<script" not in html and "onerror" not in html
    assert "<img" not in html
    assert 'href="https://example.test"' in html and "nofollow" in html


@pytest.mark.django_db
def test_price_plans_rules_and_cheapest_price(seller) -> None:
    listing = make_listing(seller)
    client = APIClient()
    client.force_login(seller.user)
    url = f"/api/v1/listings/{listing.pk}/price-plans/"
    bad = [
        {"kind": "free", "price_fen": 100},
        {"kind": "one_time", "price_fen": 0},
        {"kind": "subscription", "price_fen": 1000},
        {"kind": "one_time", "price_fen": 1000, "term_months": 3},
    ]
    for body in bad:
        assert client.post(url, body).status_code == 400, body
    assert (
        client.post(url, {"kind": "subscription", "price_fen": 9000, "term_months": 12}).status_code
        == 201
    )
    cheap = client.post(url, {"kind": "one_time", "price_fen": 5000}).json()
    listing.refresh_from_db()
    assert listing.min_price_fen == 5000
    deactivate = f"/api/v1/listings/{listing.pk}/price-plans/{cheap['id']}/deactivate/"
    assert client.post(deactivate).json()["active"] is False
    listing.refresh_from_db()
    assert listing.min_price_fen == 9000
    # The database refuses what the service would: a free plan with a price.
    with pytest.raises(IntegrityError), transaction.atomic():
        PricePlan.objects.create(listing=listing, kind="free", price_fen=1)
    # Other organisations cannot add plans.
    stranger = APIClient()
    from tests.listings.factories import seller_member

    stranger.force_login(seller_member().user)
    assert stranger.post(url, {"kind": "free"}).status_code == 404  # a draft: not even visible


@pytest.mark.django_db
def test_versions_need_files_and_reject_late_pipeline_results(seller, reg) -> None:
    listing = make_listing(seller)
    version = new_version(seller, listing)
    with pytest.raises(Exception, match="at least one file"):
        services.mark_version_published(
            version,
            files=[],
            table_schema=V1,
            row_count=0,
            sample_rows=[],
            cleaning_report={},
            engine_version="x",
        )
    version.refresh_from_db()
    assert version.pipeline_status == "pending"
