"""Private listings and drafts: absent for others from lists, details, search, facets and DCAT."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import MembershipFactory, operator
from tests.listings.factories import listed, make_listing, seller_member

pytestmark = pytest.mark.django_db


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world(seller, reg):
    named_buyer = MembershipFactory(organisation__kind="buyer")
    other_buyer = MembershipFactory(organisation__kind="buyer")
    public = listed(seller, reg, title="公开气象数据", category="geospatial")
    private = listed(
        seller,
        reg,
        title="私有气象数据",
        category="geospatial",
        visibility="private",
        allowed_buyers=[named_buyer.organisation.pk],
        licence_family="cc-by-4.0",
    )
    draft = make_listing(seller, title="草稿气象数据", category="geospatial")
    return {
        "seller": seller,
        "reg": reg,
        "named": named_buyer,
        "other": other_buyer,
        "public": public,
        "private": private,
        "draft": draft,
    }


def seen_by(client: APIClient, world) -> dict[str, Any]:
    """What one client can find of each listing through every read surface."""
    search = client.get("/api/v1/listings/", {"q": "气象"}).json()
    listing = client.get("/api/v1/listings/").json()
    catalog = client.get("/catalog.jsonld").json()
    catalog_ids = {d["dct:identifier"] for d in catalog["dcat:dataset"]}
    result: dict[str, Any] = {
        "search_count": search["count"],
        "list_count": listing["count"],
        "geospatial_facet": {e["value"]: e["count"] for e in search["facets"]["category"]}.get(
            "geospatial", 0
        ),
        "cc_by_facet": {e["value"]: e["count"] for e in search["facets"]["licence_family"]}.get(
            "cc-by-4.0", 0
        ),
    }
    for key in ("public", "private", "draft"):
        pk = world[key].pk
        result[key] = (
            client.get(f"/api/v1/listings/{pk}/").status_code,
            client.get(f"/datasets/{pk}.jsonld").status_code,
            client.get(f"/datasets/{pk}/").status_code,
            client.get(f"/api/v1/listings/{pk}/versions/").status_code,
            pk in {r["id"] for r in search["results"]},
            str(pk) in catalog_ids,
        )
    return result


HIDDEN = (404, 404, 404, 404, False, False)
SHOWN = (200, 200, 200, 200, True, True)


def test_anonymous_sees_only_the_public_listing(world) -> None:
    seen = seen_by(client_for(), world)
    assert seen["public"] == SHOWN
    assert seen["private"] == HIDDEN and seen["draft"] == HIDDEN
    assert seen["search_count"] == seen["list_count"] == 1
    assert seen["geospatial_facet"] == 1 and seen["cc_by_facet"] == 0


def test_another_buyer_sees_only_the_public_listing(world) -> None:
    seen = seen_by(client_for(world["other"].user), world)
    assert seen["private"] == HIDDEN and seen["draft"] == HIDDEN
    assert seen["search_count"] == 1 and seen["geospatial_facet"] == 1 and seen["cc_by_facet"] == 0


def test_another_seller_does_not_see_a_competitors_draft_or_private_listing(world) -> None:
    seen = seen_by(client_for(seller_member().user), world)
    assert seen["private"] == HIDDEN and seen["draft"] == HIDDEN


def test_the_named_buyer_sees_the_private_listing(world) -> None:
    seen = seen_by(client_for(world["named"].user), world)
    assert seen["private"] == SHOWN and seen["draft"] == HIDDEN
    assert seen["search_count"] == 2 and seen["geospatial_facet"] == 2 and seen["cc_by_facet"] == 1
    # ...but never learns which other buyers are named.
    body = client_for(world["named"].user).get(f"/api/v1/listings/{world['private'].pk}/").json()
    assert body["allowed_buyers"] is None


def test_regulator_and_operator_see_private_listings_in_the_catalogue(world) -> None:
    for user in (world["reg"], operator()):
        seen = seen_by(client_for(user), world)
        assert seen["private"] == SHOWN
        # Drafts are openable for review but are not catalogue entries.
        assert seen["draft"][0] == 200 and seen["draft"][4:] == (False, False)
        assert seen["search_count"] == 2


def test_the_seller_sees_its_drafts_and_the_named_buyers(world) -> None:
    client = client_for(world["seller"].user)
    seen = seen_by(client, world)
    assert seen["private"] == SHOWN and seen["draft"][0] == 200
    body = client.get(f"/api/v1/listings/{world['private'].pk}/").json()
    assert body["allowed_buyers"] == [world["named"].organisation.pk]
    mine = client.get("/api/v1/listings/", {"mine": "true"}).json()
    assert mine["count"] == 3
    assert (
        client_for(world["other"].user).get("/api/v1/listings/", {"mine": "true"}).json()["count"]
        == 0
    )


def test_private_listing_needs_named_buyers(seller) -> None:
    response = client_for(seller.user).post(
        "/api/v1/listings/", {"title": "私有", "visibility": "private"}
    )
    assert response.status_code == 400 and "allowed_buyers" in response.json()["field_errors"]


def test_unapproved_versions_are_hidden_from_buyers(world) -> None:
    from listings import services
    from tests.listings.factories import new_version, publish

    seller = world["seller"]
    v2 = publish(new_version(seller, world["public"]))
    services.submit_version(actor=seller.user, organisation=seller.organisation, version=v2)
    pk = world["public"].pk
    anonymous = client_for()
    assert [v["number"] for v in anonymous.get(f"/api/v1/listings/{pk}/versions/").json()] == [1]
    assert anonymous.get(f"/api/v1/listings/{pk}/versions/2/").status_code == 404
    assert anonymous.get(f"/api/v1/listings/{pk}/versions/2/schema.json").status_code == 404
    own = client_for(seller.user).get(f"/api/v1/listings/{pk}/versions/").json()
    assert [v["number"] for v in own] == [2, 1]


def test_storage_keys_never_leave_the_api(world) -> None:
    pk = world["public"].pk
    body = client_for(world["seller"].user).get(f"/api/v1/listings/{pk}/versions/1/").json()
    assert body["files"] and "storage_key" not in body["files"][0]
    assert "published/" not in str(body)


def test_cached_results_follow_writes_and_never_cross_viewers(world, settings) -> None:
    settings.LISTINGS_SEARCH_CACHE_SECONDS = 300
    from listings import services

    anonymous, named = client_for(), client_for(world["named"].user)
    assert anonymous.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 1
    assert named.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 2  # not anon's entry
    assert anonymous.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 1
    # Making the private listing public shows it to everyone on the next search...
    seller = world["seller"]
    services.update_listing(
        actor=seller.user,
        organisation=seller.organisation,
        listing=world["private"],
        visibility="public",
    )
    assert anonymous.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 2
    # ...and a suspension hides it at once.
    services.suspend_listing(actor=world["reg"], listing=world["private"], reason="核查")
    assert anonymous.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 1
    assert named.get("/api/v1/listings/", {"q": "气象"}).json()["count"] == 1


def test_the_one_listing_rule_agrees_with_the_queryset_rule(world) -> None:
    """listing_visible_to (one loaded listing, e.g. ordering a price plan) and listings_visible_to
    (every read surface) are the same rule, for every kind of viewer and listing."""
    from django.contrib.auth.models import AnonymousUser

    from listings.models import Listing
    from listings.selectors import Viewer, listing_visible_to, listings_visible_to

    viewers = [
        (AnonymousUser(), None),
        (world["seller"].user, world["seller"].organisation),
        (world["named"].user, world["named"].organisation),
        (world["other"].user, world["other"].organisation),
        (world["reg"], None),
        (operator(), None),
    ]
    for user, organisation in viewers:
        visible = set(
            listings_visible_to(Viewer.for_user(user, organisation)).values_list("pk", flat=True)
        )
        for listing in Listing.objects.all():
            assert listing_visible_to(user, organisation, listing) == (listing.pk in visible), (
                user,
                listing.title,
            )
