"""Relevance order for a query with too many matches to rank them all (PostgreSQL).

Ranking every match costs a `ts_rank` per match and a read of every matching row: half a second
for a word found in most listings. Instead the order is defined over a bounded window:

1. the *stream*: matches whose title or keywords hit the query (weights A and B of the search
   vector, found through the `listing_search_head_gin` expression index) come first, then the
   other matches; newest (highest id) first within each part;
2. the first `window` matches of that stream are re-ordered by rank (rank, then id, descending:
   the same key as the exact path), and the stream continues after them unchanged.

That is one fixed total order over all the matches, so pages never overlap or skip a listing,
and every listing reachable by the exact order is reachable here. Only the relevance of listings
beyond the window is approximate: a description-only hit can outrank an older title hit there.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from listings import search


def _ids(qs: QuerySet[Any], start: int, stop: int) -> list[int]:
    if stop <= start:
        return []
    return list(qs.order_by("-pk").values_list("pk", flat=True)[start:stop])


class _Stream:
    """Title/keyword hits newest first, then the other matches newest first."""

    def __init__(self, filtered: QuerySet[Any], terms: list[search.QueryTerm]) -> None:
        tsquery = search.tsquery_literal(terms)
        # Parameters are bound, never interpolated. The ts_filter expression is the one of the
        # index in migration 0006, written the same way, or PostgreSQL cannot use that index.
        self.head = filtered.extra(
            where=["ts_filter(listings_listing.search_vector, '{a,b}') @@ %s::tsquery"],
            params=[tsquery],
        )
        self.rest = filtered.extra(
            where=[
                "listings_listing.search_vector @@ %s::tsquery",
                "NOT (ts_filter(listings_listing.search_vector, '{a,b}') @@ %s::tsquery)",
            ],
            params=[tsquery, tsquery],
        )

    def slice(self, start: int, stop: int) -> list[int]:
        ids = _ids(self.head, start, stop)
        if len(ids) == stop - start:
            return ids
        if ids:
            head_total = start + len(ids)
        else:  # the head part ended at or before `start`: count it, reading no more than that
            head_total = self.head.order_by()[:start].count() if start else 0
        rest_start = max(0, start - head_total)
        return ids + _ids(self.rest, rest_start, rest_start + (stop - start - len(ids)))


def page(
    filtered: QuerySet[Any],
    terms: list[search.QueryTerm],
    rank: RawSQL,
    *,
    offset: int,
    limit: int,
    window: int,
) -> list[int]:
    """Ids at positions [offset, offset + limit) of the windowed relevance order.

    `filtered` is what the viewer may see with the facet filters applied, without the text match;
    `rank` is the rank expression of the exact path (so both paths order a window the same way).
    """
    stream = _Stream(filtered, terms)
    stop = offset + limit
    ids: list[int] = []
    if offset < window:
        candidates = stream.slice(0, window)
        ranks: dict[int, Decimal] = dict(
            filtered.filter(pk__in=candidates)
            .annotate(rank=rank)
            .order_by()
            .values_list("pk", "rank")
        )
        ranked = sorted(candidates, key=lambda pk: (ranks[pk], pk), reverse=True)
        ids = ranked[offset:stop]
        if len(candidates) < window:  # the window holds every match
            return ids
    start = max(offset, window)
    return ids + stream.slice(start, stop) if stop > start else ids
