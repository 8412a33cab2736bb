"""Server-side behaviour of the portal pages (no browser): rendering in both languages, tenant
isolation, form errors kept next to their fields, the upload endpoints' answers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from exchange.portal.forms import yuan_to_fen
from tests.factories import MembershipFactory
from tests.portal.factories import Market, listed_market

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def market(settings: Any, tmp_path: Any) -> Iterator[Market]:
    from exchange.storage import reset_storage_cache

    settings.STORAGE_BACKEND = "local"
    settings.STORAGE_LOCAL_ROOT = tmp_path
    reset_storage_cache()
    yield listed_market()
    reset_storage_cache()


def test_public_pages_in_both_languages(market: Market) -> None:
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    en = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = zh.get(f"/catalogue/{market.listing.pk}/").content.decode()
    assert "脱敏样例" in page and "清洗报告" in page and market.listing.title in page
    assert "Anonymised sample" in en.get(f"/catalogue/{market.listing.pk}/").content.decode()
    found = zh.get("/catalogue/", {"q": "门诊"}).content.decode()
    assert market.listing.title in found and "1 个数据集" in found
    assert market.listing.title not in zh.get("/catalogue/", {"q": "地铁"}).content.decode()
    home = zh.get("/").content.decode()
    assert "最新上架" in home and market.listing.title in home
    # No page loads anything from another host: every asset and link target is local (ODRL and
    # schema.org identifiers inside JSON are names, not requests).
    for html in (page, found, home):
        assert re.findall(r"""(?:src|href|action)=["']?(?:https?:)?//""", html) == []


def test_sample_on_the_listing_page_holds_no_personal_data(market: Market) -> None:
    page = Client().get(f"/catalogue/{market.listing.pk}/").content.decode()
    assert [s for s in market.secrets if s in page] == []


def test_other_sellers_get_404(market: Market) -> None:
    other = MembershipFactory(role="owner", organisation__kind="seller")
    client = Client()
    client.force_login(other.user)
    upload = market.version.uploads.get()
    for url in (
        f"/seller/listings/{market.listing.pk}/",
        f"/seller/listings/{market.listing.pk}/edit/",
        f"/seller/versions/{market.version.pk}/",
        f"/seller/uploads/{upload.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/seller/uploads/{upload.pk}/").status_code == 404
    mine = Client()
    mine.force_login(market.seller.user)
    state = mine.get(f"/seller/uploads/{upload.pk}/").json()["upload"]
    assert state["status"] == "published" and state["finished"] is True


def test_anonymous_is_sent_to_log_in() -> None:
    response = Client().get("/seller/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_listing_form_errors_keep_values(market: Market) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(market.seller.user)
    response = client.post(
        "/seller/listings/new/",
        {"title": "", "summary": "typed summary", "category": "energy", "update_frequency": "x"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_title_error"' in html and 'aria-describedby="id_title_error"' in html
    assert 'value="typed summary"' in html
    assert 'id="id_update_frequency_error"' in html


def test_plan_form_maps_service_rules_to_fields(market: Market) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(market.seller.user)
    html = client.post(
        f"/seller/listings/{market.listing.pk}/plans/",
        {"kind": "subscription", "price_yuan": "10", "acceptance_window_hours": "72"},
    ).content.decode()
    assert 'id="id_term_months_error"' in html
    assert yuan_to_fen(__import__("decimal").Decimal("88.50")) == 8850


def test_upload_start_refuses_a_published_version_with_field_errors(market: Market) -> None:
    client = Client()
    client.force_login(market.seller.user)
    response = client.post(
        f"/seller/versions/{market.version.pk}/uploads/",
        json.dumps({"filename": "x.csv", "size": 10}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "version" in response.json()["field_errors"]


def test_signup_with_organisation_lands_on_the_seller_dashboard() -> None:
    from tests.factories import make_uscc

    client = Client()
    response = client.post(
        "/signup/",
        {
            "email": "new-seller@example.test",
            "password": "Browser-test-pass-42",
            "organisation_name": "新卖方数据有限公司",
            "organisation_kind": "seller",
            "uscc": make_uscc(),
        },
    )
    assert response.status_code == 302 and response["Location"] == "/seller/"
    assert client.get("/seller/").status_code == 200


def test_report_summary_says_what_happened_to_each_column() -> None:
    """A free-text column is "redacted" only where the scanner found something; its other text
    stays, and a free-text column with no findings does not count as transformed."""
    from django.utils import translation

    from exchange.portal.views.public import report_summary

    report = {
        "rows": 3,
        "columns": [
            {
                "name": "姓名",
                "classification": "identifier",
                "transform": "pseudonym",
                "counts": {"changed_cells": 3},
            },
            {
                "name": "诊断",
                "classification": "free_text",
                "transform": "redact",
                "counts": {"changed_cells": 0},
            },
            {
                "name": "备注",
                "classification": "free_text",
                "transform": "redact",
                "counts": {"changed_cells": 2},
            },
            {
                "name": "费用",
                "classification": "other",
                "transform": "keep",
                "counts": {"changed_cells": 0},
            },
        ],
    }
    with translation.override("en"):
        summary = report_summary(report)
    labels = {c["name"]: c["transform_label"] for c in summary["columns"]}
    assert labels == {
        "姓名": "replaced by keyed pseudonyms",
        "诊断": "personal data found in the text redacted",
        "备注": "personal data found in the text redacted",
        "费用": "kept as is",
    }
    assert summary["protected_columns"] == 2
    assert dict(summary["transforms"]) == {
        "replaced by keyed pseudonyms": 1,
        "personal data found in the text redacted": 2,
        "kept as is": 1,
    }
