"""Delivery against a real S3 store (SeaweedFS): the presigned link works, lives at most five
minutes, and is recorded with who asked for which file."""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from exchange.trading import services
from exchange.trading.models import DownloadLink
from tests.trading.factories import Market

pytestmark = pytest.mark.django_db


def test_presigned_links_fetch_the_published_file_and_expire_in_minutes(s3_storage: Any) -> None:
    market = Market(s3_storage)
    plan = market.plan()
    buyer = market.buyer()
    order = market.funded(buyer, plan)
    [issued] = services.issue_download_links(
        actor=buyer.user, organisation=buyer.organisation, order=order
    ).links
    query = parse_qs(urlsplit(issued.url).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    with urllib.request.urlopen(issued.url, timeout=10) as response:
        assert response.read() == b"record_id,amount\nR-0001,1.5\n"
    link = DownloadLink.objects.get()
    assert (link.user, link.organisation, link.file) == (
        buyer.user,
        buyer.organisation,
        issued.file,
    )
    assert (link.expires_at - link.issued_at).total_seconds() == 300
