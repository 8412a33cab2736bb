"""Full-text search (Chinese and English), ranking, facets, sorting, pages."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from listings import search, selectors, services
from listings.models import Listing

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["results"]]


def facet(response, name: str) -> dict[str, int]:
    return {str(e["value"]): e["count"] for e in response.json()["facets"][name]}


def test_chinese_query_finds_a_word_inside_a_title(catalogue) -> None:
    found = titles(APIClient().get("/api/v1/listings/", {"q": "医疗"}))
    assert "医疗影像数据集" in found
    # The title hit ranks above a listing that mentions 医疗 only in its description.
    assert found.index("医疗影像数据集") < found.index("药物临床试验结果")
    assert "城市交通流量" not in found


def test_longer_chinese_query_needs_all_its_bigrams(catalogue) -> None:
    assert titles(APIClient().get("/api/v1/listings/", {"q": "医疗影像"})) == ["医疗影像数据集"]
    assert titles(APIClient().get("/api/v1/listings/", {"q": "影医"})) == []


def test_common_word_matches_many_but_ranks_title_first(catalogue) -> None:
    found = titles(APIClient().get("/api/v1/listings/", {"q": "数据"}))
    assert found[0] == "数据目录样例"  # in the title (and summary) beats description-only hits
    assert set(found) >= {"数据目录样例", "电力负荷曲线", "城市交通流量"}
    assert "Consumer credit risk scores" not in found


def test_english_queries_match_words_prefixes_and_column_names(catalogue) -> None:
    client = APIClient()
    assert titles(client.get("/api/v1/listings/", {"q": "credit"})) == [
        "Consumer credit risk scores"
    ]
    assert titles(client.get("/api/v1/listings/", {"q": "Traff"})) == ["城市交通流量"]
    # Column names of the latest version are searchable.
    assert titles(client.get("/api/v1/listings/", {"q": "default_probability"})) == [
        "Consumer credit risk scores"
    ]
    # Mixed-language: both parts required.
    assert titles(client.get("/api/v1/listings/", {"q": "交通 sensor"})) == ["城市交通流量"]
    assert titles(client.get("/api/v1/listings/", {"q": "交通 credit"})) == []


def test_full_width_and_case_are_normalised(catalogue) -> None:
    assert titles(APIClient().get("/api/v1/listings/", {"q": "ＣＲＥＤＩＴ"})) == [
        "Consumer credit risk scores"
    ]


def test_facets_count_the_result_set(catalogue) -> None:
    response = APIClient().get("/api/v1/listings/")
    body = response.json()
    assert body["count"] == 6
    categories = facet(response, "category")
    assert categories["medical_health"] == 1 and categories["transport"] == 1
    assert facet(response, "licence_family")["commercial"] == 3
    prices = facet(response, "price")
    assert prices == {"free": 1, "under_100": 1, "1000_to_10000": 2, "over_10000": 1}
    assert facet(response, "file_format") == {"csv": 5, "parquet": 1}
    assert sorted(facet(response, "seller").values()) == [3, 3]
    assert facet(response, "update_frequency")["daily"] == 1

    narrowed = APIClient().get("/api/v1/listings/", {"q": "数据", "licence_family": "commercial"})
    assert narrowed.json()["count"] == 2  # 医疗影像数据集 and 电力负荷曲线
    assert facet(narrowed, "category") == {"energy": 1, "medical_health": 1}


def test_filters_combine(catalogue) -> None:
    client = APIClient()
    assert titles(client.get("/api/v1/listings/", {"category": "transport,finance_risk"})) == [
        "Consumer credit risk scores",
        "城市交通流量",
    ]
    assert titles(client.get("/api/v1/listings/", {"file_format": "parquet"})) == ["医疗影像数据集"]
    assert titles(client.get("/api/v1/listings/", {"price": "free"})) == ["城市交通流量"]
    seller_id = catalogue["credit"].seller_id
    found = titles(client.get("/api/v1/listings/", {"seller": seller_id}))
    assert set(found) == {"Consumer credit risk scores", "城市交通流量", "数据目录样例"}
    bad = client.get("/api/v1/listings/", {"seller": "abc"})
    assert bad.status_code == 400


def test_sorting_and_pagination(catalogue) -> None:
    client = APIClient()
    by_price = titles(client.get("/api/v1/listings/", {"sort": "price_asc"}))
    assert by_price[:2] == ["城市交通流量", "电力负荷曲线"]
    assert by_price[-1] == "数据目录样例"  # no price plan at all: last either way
    assert titles(client.get("/api/v1/listings/", {"sort": "price_desc"}))[0] == (
        "Consumer credit risk scores"
    )
    newest = titles(client.get("/api/v1/listings/", {"sort": "newest"}))
    assert newest[0] == "电力负荷曲线"  # the last one listed
    pages = [
        titles(client.get("/api/v1/listings/", {"sort": "newest", "page": n, "page_size": 4}))
        for n in (1, 2, 3)
    ]
    assert pages[0] + pages[1] == newest and pages[2] == []
    assert client.get("/api/v1/listings/", {"page_size": 1000}).status_code == 400


QUERIES = ["医疗", "数据", "医疗影像", "credit", "traff", "交通 sensor", "电", "集", "default_prob"]


def test_portable_path_matches_the_same_listings_in_the_same_order(catalogue, monkeypatch) -> None:
    """The SQLite path (LIKE over the token document + Python ranking) agrees with PostgreSQL's
    tsvector path on what matches and on the order."""
    viewer = selectors.ANONYMOUS
    postgres = {
        q: [li.pk for li in selectors.search_catalogue(viewer, selectors.SearchFilters(q)).items]
        for q in QUERIES
    }
    monkeypatch.setattr(connection, "vendor", "sqlite")
    for listing in catalogue.values():  # build the documents the portable path reads
        with transaction.atomic():
            services.refresh_derived(Listing.objects.get(pk=listing.pk))
    portable = {
        q: [li.pk for li in selectors.search_catalogue(viewer, selectors.SearchFilters(q)).items]
        for q in QUERIES
    }
    assert portable == postgres
    assert all(postgres[q] for q in QUERIES)


han = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E40), min_size=1)
words = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@given(text=han, data=st.data())
def test_any_han_substring_of_a_text_finds_it(text: str, data) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    document = search.plain_document([search.WeightedText("A", [text])])
    assert search.document_matches(document, search.query_terms(text[start:end]))


@given(sentence=st.lists(words, min_size=1, max_size=5), data=st.data())
def test_any_word_prefix_finds_the_text(sentence: list[str], data) -> None:
    word = data.draw(st.sampled_from(sentence))
    prefix = word[: data.draw(st.integers(1, len(word)))]
    document = search.plain_document([search.WeightedText("D", [" ".join(sentence)])])
    assert search.document_matches(document, search.query_terms(prefix.upper()))


def test_tsvector_literal_quotes_hostile_tokens() -> None:
    literal = search.tsvector_literal([search.WeightedText("A", ["it's a \\ test"])])
    assert "'it':1A" in literal and "'s':2A" in literal
    assert search.tsquery_literal(search.query_terms("O'Brien")) == "'o':* & 'brien':*"
    assert search.query_terms("  ,.; ") == []


small_han = st.text(alphabet="数据医疗影像交通", min_size=1, max_size=12)
small_words = st.lists(st.sampled_from(["data", "database", "risk", "credit", "dat"]), max_size=6)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.lists(st.tuples(small_han, small_words), min_size=1, max_size=4),
    query=st.sampled_from(["数据", "医疗影像", "数", "data", "dat risk", "数据 credit", "据医"]),
)
def test_python_rank_is_postgres_ts_rank(fields, query) -> None:
    """The SQLite ranker is a port of ts_rank: same number as PostgreSQL for the same document."""
    weighted = [
        search.WeightedText(label, [han + " " + " ".join(words)])
        for label, (han, words) in zip("ABCD", fields, strict=False)
    ]
    terms = search.query_terms(query)
    document = search.plain_document(weighted)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::tsvector @@ %s::tsquery, "
            "round(ts_rank(%s::tsvector, %s::tsquery)::numeric, 4)::float8",
            [search.tsvector_literal(weighted), search.tsquery_literal(terms)] * 2,
        )
        matches, rank = cursor.fetchone()
    assert search.document_matches(document, terms) == matches
    if matches:
        assert search.python_rank(document, terms) == pytest.approx(rank, abs=1e-9)


def test_fast_summary_matches_the_documented_serializer(catalogue) -> None:
    from listings.api import ListingSummaryOutput, listing_summary_data

    for listing in catalogue.values():
        listing.refresh_from_db()
        assert listing_summary_data(listing) == dict(ListingSummaryOutput(listing).data)
