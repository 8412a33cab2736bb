"""Reads of the catalogue, always filtered by who asks.

One rule everywhere (lists, details, search, facet counts, DCAT export): a listing is visible to

* regulators and operators: all of them;
* its seller's members: all of their own, drafts included;
* everyone else (anonymous included): `listed` ones that are public, or private and naming their
  organisation as a buyer.

Anything else answers 404, never 403 with data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from exchange.participants.models import Organisation, User
from exchange.participants.selectors import is_platform_staff
from listings import relevance_window, search, search_cache, search_estimates
from listings.models import (
    Listing,
    ListingVersion,
    Visibility,
)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a user (maybe anonymous), the organisation they act for, platform staff?"""

    user: User | None = None
    organisation: Organisation | None = None
    is_staff: bool = False

    @classmethod
    def for_user(cls, user: Any, organisation: Organisation | None) -> Viewer:
        if user is None or not user.is_authenticated:
            return cls()
        return cls(user=user, organisation=organisation, is_staff=is_platform_staff(user))

    @property
    def organisation_id(self) -> int | None:
        return self.organisation.pk if self.organisation else None


ANONYMOUS = Viewer()


def _buyer_may_see(organisation_id: int | None) -> Q:
    """Public, or private and naming this organisation (or this organisation is the seller)."""
    public = Q(visibility=Visibility.PUBLIC)
    if organisation_id is None:
        return public
    named = Listing.allowed_buyers.through.objects.filter(
        listing_id=OuterRef("pk"), organisation_id=organisation_id
    )
    return public | Q(seller_id=organisation_id) | Q(Exists(named))


def listings_visible_to(viewer: Viewer) -> QuerySet[Listing]:
    """Every listing the viewer may open (drafts of their own included)."""
    listings = Listing.objects.all()
    if viewer.is_staff:
        return listings
    rule = Q(status=Listing.Status.LISTED) & _buyer_may_see(viewer.organisation_id)
    if viewer.organisation_id is not None:
        rule |= Q(seller_id=viewer.organisation_id)
    return listings.filter(rule)


def listing_visible_to(user: Any, organisation: Organisation | None, listing: Listing) -> bool:
    """listings_visible_to()'s rule for one listing already loaded, without building the
    queryset (whose subqueries cost more to compile than the lookup costs to run). Platform
    staff status is asked last, only when the rest of the rule says no: the answer for a seller
    or a buyer does not depend on it."""
    organisation_id = organisation.pk if organisation is not None else None
    if organisation_id is not None and listing.seller_id == organisation_id:
        return True
    if listing.status == Listing.Status.LISTED:
        if listing.visibility == Visibility.PUBLIC:
            return True
        if (
            organisation_id is not None
            and Listing.allowed_buyers.through.objects.filter(
                listing_id=listing.pk, organisation_id=organisation_id
            ).exists()
        ):
            return True
    return Viewer.for_user(user, organisation).is_staff


def catalogue_for(viewer: Viewer) -> QuerySet[Listing]:
    """What the catalogue (lists, search, facets, DCAT) shows the viewer: listed listings only."""
    if viewer.is_staff:
        return Listing.objects.filter(status=Listing.Status.LISTED)
    return Listing.objects.filter(
        Q(status=Listing.Status.LISTED) & _buyer_may_see(viewer.organisation_id)
    )


def own_listings(viewer: Viewer) -> QuerySet[Listing]:
    if viewer.organisation_id is None:
        return Listing.objects.none()
    return Listing.objects.filter(seller_id=viewer.organisation_id)


def get_listing(viewer: Viewer, listing_id: int) -> Listing:
    listing = (
        listings_visible_to(viewer)
        .select_related("seller", "latest_version")
        .filter(pk=listing_id)
        .first()
    )
    if listing is None:
        raise Http404("No such listing.")
    return listing


def versions_visible_to(viewer: Viewer, listing: Listing) -> QuerySet[ListingVersion]:
    """The seller and staff see every version; buyers see approved ones only."""
    versions = listing.versions.all()
    if viewer.is_staff or (viewer.organisation_id == listing.seller_id):
        return versions
    return versions.filter(status=ListingVersion.Status.APPROVED)


def get_version(viewer: Viewer, listing_id: int, number: int) -> ListingVersion:
    listing = get_listing(viewer, listing_id)
    version = versions_visible_to(viewer, listing).filter(number=number).first()
    if version is None:
        raise Http404("No such version.")
    return version


def review_queue() -> QuerySet[ListingVersion]:
    """Versions waiting for a regulator or operator, oldest first."""
    return (
        ListingVersion.objects.filter(status=ListingVersion.Status.SUBMITTED)
        .select_related("listing", "listing__seller")
        .order_by("submitted_at", "id")
    )


# --- search ------------------------------------------------------------------------------------

PRICE_BUCKETS: list[tuple[str, int | None, int | None]] = [
    # (key, lower bound fen inclusive, upper bound fen exclusive) over the cheapest active plan
    ("free", 0, 1),
    ("under_100", 1, 100_00),
    ("100_to_1000", 100_00, 1000_00),
    ("1000_to_10000", 1000_00, 10000_00),
    ("over_10000", 10000_00, None),
]
FORMATS = ["csv", "xlsx", "json", "jsonl", "parquet", "geojson", "xml", "zip"]
SORTS = ("relevance", "newest", "price_asc", "price_desc")
SELLER_FACET_LIMIT = 20


@dataclass
class SearchFilters:
    query: str = ""
    category: list[str] = field(default_factory=list)
    licence_family: list[str] = field(default_factory=list)
    update_frequency: list[str] = field(default_factory=list)
    seller: list[int] = field(default_factory=list)
    format: list[str] = field(default_factory=list)
    price: list[str] = field(default_factory=list)  # PRICE_BUCKETS keys
    sort: str = "relevance"


@dataclass
class SearchResult:
    """One page of a search. With `approximate`, there are more than LISTINGS_SEARCH_EXACT_LIMIT
    matches, and `total` and the facet counts are estimates (two significant digits); the page
    itself is always exact, and `has_next` says whether another page follows."""

    total: int
    items: list[Listing]
    facets: dict[str, list[dict[str, Any]]]
    approximate: bool = False
    has_next: bool = False


@dataclass(frozen=True)
class _Found:
    """What a search finds before the rows are fetched (what the result cache keeps)."""

    total: int
    facets: dict[str, list[dict[str, Any]]]
    ids: list[int]
    approximate: bool = False
    has_next: bool = False


def _price_q(key: str) -> Q:
    for name, low, high in PRICE_BUCKETS:
        if name == key:
            q = Q(min_price_fen__gte=low)
            return q & Q(min_price_fen__lt=high) if high is not None else q
    return Q(pk__in=[])


def _filtered(base: QuerySet[Listing], filters: SearchFilters) -> QuerySet[Listing]:
    qs = base
    if filters.category:
        qs = qs.filter(category__in=filters.category)
    if filters.licence_family:
        qs = qs.filter(licence_family__in=filters.licence_family)
    if filters.update_frequency:
        qs = qs.filter(update_frequency__in=filters.update_frequency)
    if filters.seller:
        qs = qs.filter(seller_id__in=filters.seller)
    if filters.format:
        any_format = Q()
        for fmt in filters.format:
            any_format |= Q(formats__contains=f",{fmt},")
        qs = qs.filter(any_format)
    if filters.price:
        any_price = Q()
        for key in filters.price:
            any_price |= _price_q(key)
        qs = qs.filter(any_price)
    return qs


def _text_match_postgres(qs: QuerySet[Listing], terms: list[search.QueryTerm]) -> QuerySet[Any]:
    tsquery = search.tsquery_literal(terms)
    # Parameters are bound, never interpolated.
    return qs.extra(where=["listings_listing.search_vector @@ %s::tsquery"], params=[tsquery])


def _rank_postgres(terms: list[search.QueryTerm]) -> RawSQL:
    tsquery = search.tsquery_literal(terms)
    # Rounded so the portable path (search.python_rank, float8) orders exactly like this (float4).
    sql = "round(ts_rank(listings_listing.search_vector, %s::tsquery)::numeric, {digits})"
    return RawSQL(sql.format(digits=int(search.RANK_DIGITS)), [tsquery])  # noqa: S611 (bound)


def _text_match_portable(qs: QuerySet[Listing], terms: list[search.QueryTerm]) -> QuerySet[Any]:
    for term in terms:
        pattern = f":{term.token}" if term.prefix else f":{term.token} "
        qs = qs.filter(search_document__contains=pattern)
    return qs


def _price_bucket_sql() -> str:
    """CASE expression naming the price bucket of `min_price_fen` (constants only, no input)."""
    branches = []
    for key, low, high in PRICE_BUCKETS:
        condition = f"min_price_fen >= {int(low or 0)}"
        if high is not None:
            condition += f" AND min_price_fen < {int(high)}"
        branches.append(f"WHEN {condition} THEN '{key}'")
    return "CASE " + " ".join(branches) + " END"


FACET_COLUMNS = ("seller_id", "category", "licence_family", "update_frequency", "min_price_fen",
                 "formats")  # fmt: skip


def _empty_facets() -> dict[str, list[dict[str, Any]]]:
    keys = ("category", "licence_family", "update_frequency", "price", "file_format", "seller")
    return {key: [] for key in keys}


@dataclass(frozen=True)
class RankedPage:
    """Ask _facets for the page too, ranked in the same statement (PostgreSQL relevance sort):
    the expensive part, matching and ranking, then happens once."""

    terms: list[search.QueryTerm]
    offset: int
    limit: int


def _facets(
    qs: QuerySet[Any],
    page: RankedPage | None = None,
    *,
    limit: int | None = None,
    sample: search_estimates.Sample | None = None,
) -> tuple[int, dict[str, list[dict[str, Any]]], list[int]]:
    """Counts over the current result set in one statement: the matching rows are selected once
    (a CTE, materialised by PostgreSQL since it is read several times) and grouped per facet.
    Written in SQL both databases accept; the ORM spent more time building 40 filtered
    aggregates than PostgreSQL spent counting.

    `limit` stops reading after that many matches (the caller sees a total of `limit` and knows
    the counts are incomplete); `sample` counts the matches among sampled pages only."""
    columns: tuple[str, ...] = FACET_COLUMNS
    page_sql = ""
    page_params: list[Any] = []
    if page is not None:
        qs = qs.annotate(rank=_rank_postgres(page.terms))
        columns = (*FACET_COLUMNS, "id", "rank")
        page_sql = """
        UNION ALL
        SELECT 'page', CAST(id AS TEXT), NULL, CAST(rank AS TEXT)
        FROM (SELECT id, rank FROM m ORDER BY rank DESC, id DESC LIMIT %s OFFSET %s) p"""
        page_params = [page.limit, page.offset]
    rows_qs = qs.order_by().values_list(*columns)
    if limit is not None:
        rows_qs = rows_qs[:limit]
    try:
        inner_sql, params = rows_qs.query.sql_with_params()
    except EmptyResultSet:
        # A query that can match nothing (e.g. `mine` for a caller acting for no organisation)
        # has no SQL: the answer is empty, not an error.
        return 0, _empty_facets(), []
    if sample is not None:
        inner_sql = search_estimates.sampled_sql(inner_sql, sample)
    statement = f"""
        WITH m ({", ".join(columns)}) AS ({inner_sql})
        SELECT 'category', category, COUNT(*), NULL FROM m GROUP BY category
        UNION ALL
        SELECT 'licence_family', licence_family, COUNT(*), NULL FROM m GROUP BY licence_family
        UNION ALL
        SELECT 'update_frequency', update_frequency, COUNT(*), NULL FROM m
            GROUP BY update_frequency
        UNION ALL
        SELECT 'price', {_price_bucket_sql()}, COUNT(*), NULL FROM m GROUP BY 2
        UNION ALL
        SELECT 'formats', formats, COUNT(*), NULL FROM m GROUP BY formats
        UNION ALL
        SELECT 'seller', CAST(s.seller_id AS TEXT), s.n, o.name
        FROM (SELECT seller_id, COUNT(*) AS n FROM m GROUP BY seller_id) s
        JOIN participants_organisation o ON o.id = s.seller_id{page_sql}
    """  # noqa: S608  (only constants and the ORM's own SQL are interpolated; values are bound)
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, *page_params])
        rows = cursor.fetchall()
    facets = _empty_facets()
    formats: dict[str, int] = {}
    ranked: list[tuple[Decimal, int]] = []
    total = 0
    for facet, value, count, name in rows:
        if facet == "category":
            total += count
        if facet == "page":
            ranked.append((Decimal(name), int(value)))
        elif facet == "formats":
            for fmt in (value or "").split(","):
                if fmt:
                    formats[fmt] = formats.get(fmt, 0) + count
        elif facet == "seller":
            facets["seller"].append({"value": int(value), "name": name, "count": count})
        elif value is not None:
            facets[facet].append({"value": value, "count": count})
    facets["file_format"] = [{"value": k, "count": n} for k, n in formats.items()]
    for key, entries in facets.items():
        entries.sort(key=lambda e: (-e["count"], str(e["value"])))
        if key == "seller":
            del entries[SELLER_FACET_LIMIT:]
    # UNION ALL does not promise to keep the page's order: sort again by (rank, id) descending.
    ids = [pk for _, pk in sorted(ranked, reverse=True)]
    return total, facets, ids


# What a search result page needs; the big text and search columns stay in the database.
SUMMARY_FIELDS = (
    "id", "title", "summary", "category", "keywords", "languages", "licence_family",
    "update_frequency", "visibility", "status", "seller__id", "seller__name", "min_price_fen",
    "formats", "first_listed_at", "updated_at",
)  # fmt: skip


def search_catalogue(
    viewer: Viewer,
    filters: SearchFilters,
    *,
    offset: int = 0,
    limit: int = 20,
    mine: bool = False,
) -> SearchResult:
    """Full text + facets + sort + page, over exactly what the viewer may see: the catalogue, or
    with `mine` the viewer's own organisation's listings in every status. Results (not rows) are
    cached briefly per viewer class; any catalogue write invalidates them."""
    params = {"filters": asdict(filters), "offset": offset, "limit": limit, "mine": mine}
    cache_key = search_cache.key(_viewer_key(viewer), params)
    found = search_cache.get(cache_key)
    if not isinstance(found, _Found):
        found = _search_uncached(viewer, filters, offset=offset, limit=limit, mine=mine)
        search_cache.put(cache_key, found)
    rows = Listing.objects.select_related("seller").only(*SUMMARY_FIELDS).in_bulk(found.ids)
    return SearchResult(
        total=found.total,
        items=[rows[i] for i in found.ids if i in rows],
        facets=found.facets,
        approximate=found.approximate,
        has_next=found.has_next,
    )


def _viewer_key(viewer: Viewer) -> str:
    if viewer.is_staff:
        return "staff"
    return f"org{viewer.organisation_id}" if viewer.organisation_id else "anonymous"


def _search_uncached(
    viewer: Viewer, filters: SearchFilters, *, offset: int, limit: int, mine: bool
) -> _Found:
    base = own_listings(viewer) if mine else catalogue_for(viewer)
    filtered: QuerySet[Any] = _filtered(base, filters)
    terms = search.query_terms(filters.query)
    postgres = connection.vendor == "postgresql"
    qs = filtered
    if terms:
        qs = _text_match_postgres(qs, terms) if postgres else _text_match_portable(qs, terms)
    sort = filters.sort if filters.sort in SORTS else "relevance"
    if sort == "relevance" and not terms:
        sort = "newest"
    if not postgres:
        return _search_portable(qs, terms, sort, offset=offset, limit=limit)
    # Count (and, by relevance, rank) every match only while they are few: one more row than the
    # limit says there are more, and then the exact answer is not worth reading them all.
    exact_limit = int(settings.LISTINGS_SEARCH_EXACT_LIMIT)
    ranked = RankedPage(terms, offset, limit) if sort == "relevance" else None
    total, facets, ids = _facets(qs, ranked, limit=exact_limit + 1)
    if total <= exact_limit:
        if ranked is None:
            ids = _sorted_page(qs, sort, offset=offset, limit=limit)
        return _Found(total, facets, ids, has_next=offset + limit < total)
    total, facets = _estimated_facets(qs, at_least=exact_limit + 1)
    if ranked is None:
        ids = _sorted_page(qs, sort, offset=offset, limit=limit + 1)
    else:
        ids = relevance_window.page(
            filtered,
            terms,
            _rank_postgres(terms),
            offset=offset,
            limit=limit + 1,
            window=int(settings.LISTINGS_SEARCH_RANK_WINDOW),
        )
    return _Found(total, facets, ids[:limit], approximate=True, has_next=len(ids) > limit)


def _search_portable(
    qs: QuerySet[Any], terms: list[search.QueryTerm], sort: str, *, offset: int, limit: int
) -> _Found:
    """SQLite (the embedded default): always exact; relevance is ranked in Python."""
    total, facets, _ = _facets(qs)
    if sort == "relevance":
        candidates = list(qs.only("pk", "search_document"))
        candidates.sort(key=lambda li: (-search.python_rank(li.search_document, terms), -li.pk))
        ids = [li.pk for li in candidates[offset : offset + limit]]
    else:
        ids = _sorted_page(qs, sort, offset=offset, limit=limit)
    return _Found(total, facets, ids, has_next=offset + limit < total)


def _sorted_page(qs: QuerySet[Any], sort: str, *, offset: int, limit: int) -> list[int]:
    order: list[Any] = {
        "newest": [F("first_listed_at").desc(nulls_last=True), "-pk"],
        "price_asc": [F("min_price_fen").asc(nulls_last=True), "-pk"],
        "price_desc": [F("min_price_fen").desc(nulls_last=True), "-pk"],
    }[sort]
    return list(qs.order_by(*order).values_list("pk", flat=True)[offset : offset + limit])


def _estimated_facets(
    qs: QuerySet[Any], *, at_least: int
) -> tuple[int, dict[str, list[dict[str, Any]]]]:
    """Total and facet counts of `qs` estimated from a sample (listings.search_estimates)."""
    sample = search_estimates.sample_of(int(settings.LISTINGS_SEARCH_SAMPLE_ROWS))
    try:
        sampled, facets, _ = _facets(qs, sample=sample)
    except ValueError:  # a query shape the sample clause does not fit: slow but exact
        total, facets, _ = _facets(qs)
        return total, facets
    return search_estimates.scale_up(sampled, facets, sample, at_least=at_least), facets
