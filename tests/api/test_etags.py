"""ETags on cheap, often-polled reads: a weak tag on every 200, 304 for a current If-None-Match,
a new tag once the representation changes, and none on errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from exchange.api_common.etags import matches, weak_etag
from exchange.trading import services as trading
from listings.pipeline import services as pipeline
from listings.services import create_version
from tests.api.conftest import SeededMarket

pytestmark = pytest.mark.django_db

WEAK_ETAG = re.compile(r'^W/"[0-9a-f]{32}"$')


def client_of(tenant: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {tenant.token}")
    return client


def revalidate(client: APIClient, url: str) -> str:
    first = client.get(url)
    assert first.status_code == 200, first.content
    etag = first.headers["ETag"]
    assert WEAK_ETAG.match(etag), etag
    assert "private" in first.headers["Cache-Control"]
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    return str(etag)


def test_order_detail_revalidates_and_changes_with_the_order(seeded: SeededMarket) -> None:
    client = client_of(seeded.buyer)
    order = seeded.orders["funded"]
    url = f"/api/v1/orders/{order.pk}/"
    etag = revalidate(client, url)

    seller = seeded.market.seller
    trading.deliver_order(actor=seller.user, organisation=seller.organisation, order=order)
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["status"] == "delivered"
    assert changed.headers["ETag"] != etag
    assert client.get(url, HTTP_IF_NONE_MATCH=changed.headers["ETag"]).status_code == 304


def test_listing_detail_revalidates_for_buyers_and_anonymous_callers(
    seeded: SeededMarket,
) -> None:
    url = f"/api/v1/listings/{seeded.market.listing.pk}/"
    revalidate(client_of(seeded.buyer), url)
    revalidate(APIClient(), url)
    # The seller sees more (the named buyers' list): another representation, another tag.
    assert client_of(seeded.seller).get(url).headers["ETag"] != APIClient().get(url).headers["ETag"]


def test_a_changed_listing_gets_a_new_tag(seeded: SeededMarket) -> None:
    seller = client_of(seeded.seller)
    url = f"/api/v1/listings/{seeded.market.listing.pk}/"
    etag = seller.get(url).headers["ETag"]
    patched = seller.patch(url, {"summary": "每日更新"}, format="json")
    assert patched.status_code == 200, patched.json()
    after = seller.get(url, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after.json()["summary"] == "每日更新"


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/wallet/",
        "/api/v1/orders/{order}/",
        "/api/v1/disputes/{dispute}/",
        "/api/v1/contracts/{contract}/",
        "/api/v1/licences/{licence}/",
        "/api/v1/listings/{listing}/versions/1/",
    ],
)
def test_other_cheap_reads_revalidate(seeded: SeededMarket, url: str) -> None:
    order = seeded.orders["funded"]
    filled = url.format(
        order=order.pk,
        dispute=seeded.orders["disputed"].dispute.pk,
        contract=order.contract_id,
        licence=order.licence_id,
        listing=seeded.market.listing.pk,
    )
    revalidate(client_of(seeded.buyer), filled)


def test_upload_status_revalidates(seeded: SeededMarket, local_storage: Any) -> None:
    seller = seeded.market.seller
    version = create_version(
        actor=seller.user, organisation=seller.organisation, listing=seeded.market.listing
    )
    upload, _ = pipeline.start_upload(
        actor=seller.user,
        organisation=seller.organisation,
        version=version,
        filename="traffic.csv",
        size=100,
    )
    revalidate(client_of(seeded.seller), f"/api/v1/uploads/{upload.pk}/")


def test_the_wallet_tag_changes_when_money_moves(seeded: SeededMarket) -> None:
    client = client_of(seeded.buyer)
    etag = client.get("/api/v1/wallet/").headers["ETag"]
    seeded.market.deposit(seeded.buyer.membership, 1_00)
    assert client.get("/api/v1/wallet/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_errors_and_other_tenants_get_no_tag(seeded: SeededMarket) -> None:
    url = f"/api/v1/orders/{seeded.orders['funded'].pk}/"
    etag = client_of(seeded.buyer).get(url).headers["ETag"]
    stranger = client_of(seeded.stranger).get(url, HTTP_IF_NONE_MATCH=etag)
    assert stranger.status_code == 404  # a valid tag does not open another tenant's order
    assert "ETag" not in stranger.headers
    assert APIClient().get(url, HTTP_IF_NONE_MATCH=etag).status_code in (401, 403)


def test_if_none_match_lists_star_and_strong_forms() -> None:
    tag = weak_etag({"id": 1})
    opaque = tag[2:]
    assert matches(tag, tag) and matches(opaque, tag) and matches("*", tag)
    assert matches(f'W/"other", {tag}', tag)
    assert not matches('W/"other"', tag) and not matches("", tag) and not matches(None, tag)
    assert weak_etag({"a": 1, "b": 2}) == weak_etag({"b": 2, "a": 1})
