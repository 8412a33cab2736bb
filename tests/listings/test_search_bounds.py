"""Searches with more matches than LISTINGS_SEARCH_EXACT_LIMIT: counts and facets are estimated
and flagged, relevance ranks a bounded window, and pages stay exact, stable and private."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from listings import search_estimates, selectors
from tests.factories import MembershipFactory
from tests.listings.factories import listed, make_listing, seller_member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_result_cache(settings: Any) -> None:
    # Each test changes the limits between requests: every request must run its SQL.
    settings.LISTINGS_SEARCH_CACHE_SECONDS = 0


def search(params: dict[str, Any] | None = None, client: APIClient | None = None) -> Any:
    response = (client or APIClient()).get("/api/v1/listings/", params or {})
    assert response.status_code == 200, response.content
    return response.json()


def counts(body: Any, facet: str) -> dict[str, int]:
    return {str(e["value"]): e["count"] for e in body["facets"][facet]}


def all_facets(body: Any) -> dict[str, dict[str, int]]:
    return {name: counts(body, name) for name in body["facets"]}


def test_counts_are_exact_up_to_the_limit(catalogue, settings) -> None:
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 6  # the catalogue holds exactly 6 listed listings
    body = search()
    assert body["approximate"] is False and body["count"] == 6
    assert counts(body, "licence_family") == {
        "commercial": 3,
        "cdla-permissive-2.0": 1,
        "cc-by-4.0": 1,
        "odc-by-1.0": 1,
    }
    assert counts(body, "price") == {"free": 1, "under_100": 1, "1000_to_10000": 2, "over_10000": 1}
    # 数据 matches 5 listings: under the limit, exact, and the page says nothing follows.
    data = search({"q": "数据"})
    assert data["approximate"] is False and data["count"] == 5 and data["has_next"] is False
    assert search({"q": "数据", "page_size": 4})["has_next"] is True


def test_over_the_limit_counts_are_flagged_estimates(catalogue, settings) -> None:
    exact = search()
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 5
    body = search()
    assert body["approximate"] is True
    assert body["count"] >= 6  # never below what the exact probe already saw
    # A catalogue this small is sampled whole, so the estimate must equal the exact answer:
    # scaling and rounding leave nothing out and invent nothing.
    assert body["count"] == exact["count"]
    assert all_facets(body) == all_facets(exact)
    assert len(body["results"]) == 6


def test_estimates_scale_the_sample_and_round_it() -> None:
    facets = {"category": [{"value": "energy", "count": 7}, {"value": "other", "count": 1}]}
    total = search_estimates.scale_up(
        8, facets, search_estimates.Sample(2.5, scale=40), at_least=1001
    )
    assert total == 1001  # 8 x 40 = 320, but the exact probe already saw 1001
    assert facets == {
        "category": [{"value": "energy", "count": 280}, {"value": "other", "count": 40}]
    }
    assert search_estimates.two_significant_digits(12_345) == 12_000
    assert search_estimates.two_significant_digits(987.4) == 990
    assert search_estimates.two_significant_digits(42.4) == 42
    assert (
        search_estimates.scale_up(400, {}, search_estimates.Sample(1.0, scale=100), at_least=1001)
        == 40_000
    )


def test_the_sample_clause_leaves_the_named_buyer_subquery_whole() -> None:
    sql = (
        'SELECT "listings_listing"."id" FROM "listings_listing" WHERE EXISTS(SELECT 1 FROM '
        '"listings_listing_allowed_buyers" U0 WHERE U0."listing_id" = ("listings_listing"."id"))'
    )
    twice = (
        'SELECT "listings_listing"."id" FROM "listings_listing" WHERE true UNION '
        'SELECT "listings_listing"."id" FROM "listings_listing" WHERE false'
    )
    sampled = search_estimates.sampled_sql(sql, search_estimates.Sample(2.5, seed=3))
    assert sampled.count("TABLESAMPLE") == 1
    assert 'FROM "listings_listing" TABLESAMPLE SYSTEM (2.500000) REPEATABLE (3) WHERE' in sampled
    with pytest.raises(ValueError):
        # Two readings of the listing table: which one to sample is not for a string edit.
        search_estimates.sampled_sql(twice, search_estimates.Sample(1))


@pytest.fixture
def private_world(catalogue) -> dict[str, Any]:
    """Beside the public catalogue: a private listing named for one buyer, and a draft."""
    member = seller_member()
    named = MembershipFactory(organisation__kind="buyer")
    private = listed(
        member,
        title="私有医疗数据",
        category="medical_health",
        licence_family="cc-by-4.0",
        visibility="private",
        allowed_buyers=[named.organisation.pk],
    )
    draft = make_listing(member, title="草稿医疗数据", category="medical_health")
    return {"named": named, "private": private, "draft": draft}


def test_private_listings_stay_out_of_estimated_counts(private_world, settings) -> None:
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1  # every query below is estimated
    anonymous = search({"q": "医疗"})
    assert anonymous["approximate"] is True
    ids = {r["id"] for r in anonymous["results"]}
    assert private_world["private"].pk not in ids and private_world["draft"].pk not in ids
    # 医疗 is in the imaging title and the drug trial's description; the private and draft
    # listings are medical too and must not be counted, sampled or not.
    assert anonymous["count"] == 2
    assert counts(anonymous, "category") == {"medical_health": 1, "drug_research": 1}
    assert "cc-by-4.0" not in counts(anonymous, "licence_family")

    buyer = APIClient()
    buyer.force_login(private_world["named"].user)
    named = search({"q": "医疗"}, client=buyer)
    assert named["approximate"] is True and named["count"] == 3
    assert counts(named, "category") == {"medical_health": 2, "drug_research": 1}
    assert private_world["private"].pk in {r["id"] for r in named["results"]}


def test_pages_over_the_limit_cover_every_match_once(private_world, settings) -> None:
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1
    settings.LISTINGS_SEARCH_RANK_WINDOW = 2  # pages cross the ranked window's end
    exact_ids = {r["id"] for r in search({"q": "数据", "page_size": 50})["results"]}
    for sort in ("relevance", "newest", "price_asc", "price_desc"):
        seen: list[int] = []
        page = 1
        while True:
            body = search({"q": "数据", "sort": sort, "page": page, "page_size": 1})
            assert body["approximate"] is True
            seen.extend(r["id"] for r in body["results"])
            if not body["has_next"]:
                break
            page += 1
        assert sorted(seen) == sorted(exact_ids), sort  # no listing twice, none skipped
        again = [
            search({"q": "数据", "sort": sort, "page": n, "page_size": 1})["results"][0]["id"]
            for n in range(1, page + 1)
        ]
        assert again == seen  # the same order on every request
    assert private_world["private"].pk not in exact_ids


def test_title_hits_rank_first_when_only_a_window_is_ranked(catalogue, settings) -> None:
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1
    settings.LISTINGS_SEARCH_RANK_WINDOW = 1
    # 医疗 is in 医疗影像数据集's title and only in the description of the drug trial (newer).
    body = search({"q": "医疗"})
    assert body["approximate"] is True
    assert [r["title"] for r in body["results"]] == ["医疗影像数据集", "药物临床试验结果"]
    # 数据: the title hits come first (the ranked window holds the newest), then the hits in
    # summaries and descriptions, newest first.
    titles = [r["title"] for r in search({"q": "数据"})["results"]]
    assert titles == [
        "数据目录样例",
        "医疗影像数据集",
        "电力负荷曲线",
        "城市交通流量",
        "药物临床试验结果",
    ]


def test_window_ranks_like_the_exact_path(catalogue, settings) -> None:
    exact = [r["id"] for r in search({"q": "数据"})["results"]]
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1  # 数据 matches 5: all of them fit the window
    windowed = search({"q": "数据"})
    assert windowed["approximate"] is True
    assert [r["id"] for r in windowed["results"]] == exact


def test_portal_marks_estimates(catalogue, settings) -> None:
    en, zh = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="zh-CN")
    exact = en.get("/catalogue/", {"q": "数据"}).content.decode()
    assert "5 datasets" in exact and "(estimated)" not in exact and "≈" not in exact
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1
    page = en.get("/catalogue/", {"q": "数据"}).content.decode()
    assert "about 5 datasets (estimated)" in page
    assert "(≈ 1)" in page and 'title="estimated from a sample"' in page
    assert "约 5 个数据集（估算）" in zh.get("/catalogue/", {"q": "数据"}).content.decode()


def test_portal_page_past_the_last_result_says_so_and_links_back(catalogue, settings) -> None:
    # With an estimated total the last page is unknown, so a page past the end is not redirected:
    # it must not claim that nothing matches.
    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get("/catalogue/", {"q": "数据", "page": 9})
    body = page.content.decode()
    assert page.status_code == 200 and 'id="past-the-end"' in body
    assert "No dataset matches" not in body and "Back to the first page" in body
    first = Client(HTTP_ACCEPT_LANGUAGE="en").get("/catalogue/", {"q": "数据"}).content.decode()
    assert 'id="past-the-end"' not in first


def test_sqlite_path_stays_exact(catalogue, settings, monkeypatch) -> None:
    """The embedded default never estimates (it has no TABLESAMPLE and stays small)."""
    from listings import services
    from listings.models import Listing

    settings.LISTINGS_SEARCH_EXACT_LIMIT = 1
    monkeypatch.setattr(connection, "vendor", "sqlite")
    for listing in catalogue.values():
        services.refresh_derived(Listing.objects.get(pk=listing.pk))
    result = selectors.search_catalogue(selectors.ANONYMOUS, selectors.SearchFilters("数据"))
    assert result.approximate is False and result.total == 5 and not result.has_next


def test_a_cached_value_of_another_shape_is_recomputed(catalogue, settings) -> None:
    """The result cache outlives a deploy: what an older release cached must not break a search
    (new keys carry a format number; an odd value under a key is ignored all the same)."""
    from dataclasses import asdict

    from listings import search_cache

    settings.LISTINGS_SEARCH_CACHE_SECONDS = 60
    filters = selectors.SearchFilters("数据")
    params = {"filters": asdict(filters), "offset": 0, "limit": 20, "mine": False}
    search_cache.put(search_cache.key("anonymous", params), (5, {}, []))  # the old shape
    result = selectors.search_catalogue(selectors.ANONYMOUS, filters)
    assert result.total == 5 and len(result.items) == 5 and not result.approximate
