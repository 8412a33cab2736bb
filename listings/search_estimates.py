"""Estimated counts for searches with too many matches to count (PostgreSQL).

A word found in most listings would make every request read most of the table just to say how
many there are. Instead the catalogue query runs over a sample of the table's pages (TABLESAMPLE
SYSTEM, a fixed seed so that the same catalogue gives the same figures on every page request) and
its counts are scaled up. It is the same query, visibility rule included, so a listing the viewer
may not see can never be counted, sampled or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

_TABLE = 'FROM "listings_listing" '


SEED = 0


@dataclass(frozen=True)
class Sample:
    percent: float  # of the table's pages
    scale: float = 1.0  # rows in the table per row in the sample
    seed: int = SEED


def sample_of(rows: int) -> Sample:
    """A sample of about `rows` rows of the listing table. A small or never analysed table is read
    whole, and the "estimate" is then exact.

    Counts scale by the table's rows per sampled row, not by 100 / percent: pages hold different
    numbers of rows, and with a fixed seed a sample that happens to hold more rows than average
    would otherwise inflate every estimate the same way. The table's row count is the planner's
    (kept up to date by autovacuum), so nothing counts the whole table."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'listings_listing'::regclass")
        row = cursor.fetchone()
        table_rows = float(row[0]) if row else 0.0
        if table_rows <= rows:
            return Sample(100.0)
        percent = max(0.01, 100.0 * rows / table_rows)
        cursor.execute(sampled_sql('SELECT COUNT(*) FROM "listings_listing" ', Sample(percent)))
        count_row = cursor.fetchone()
    in_sample = int(count_row[0]) if count_row else 0
    return Sample(percent, scale=table_rows / in_sample if in_sample else 100.0 / percent)


def sampled_sql(catalogue_sql: str, sample: Sample) -> str:
    """The catalogue query reading only the sampled pages: the sample clause follows the listing
    table in the outer FROM; subqueries (the named-buyer rule) read their tables whole."""
    if catalogue_sql.count(_TABLE) != 1:
        raise ValueError("cannot place TABLESAMPLE in this query")
    # Both numbers are ours (floats and ints formatted here), never the caller's input.
    clause = f"TABLESAMPLE SYSTEM ({float(sample.percent):.6f}) REPEATABLE ({int(sample.seed)}) "
    return catalogue_sql.replace(_TABLE, _TABLE + clause)


def two_significant_digits(value: float) -> int:
    """12 345 -> 12 000; 987 -> 990: an estimate should not look more precise than it is."""
    if value < 100:
        return round(value)
    magnitude = 10 ** (len(str(int(value))) - 2)
    return int(round(value / magnitude) * magnitude)


def scale_up(
    sampled_total: int, facets: dict[str, list[dict[str, Any]]], sample: Sample, *, at_least: int
) -> int:
    """Scale the sample's facet counts (in place) and total to the whole table. The total is
    known to be at least `at_least` (the exact probe saw that many); a facet value seen in the
    sample is at least 1; one absent from the sample is left out."""
    for entries in facets.values():
        for entry in entries:
            entry["count"] = max(1, two_significant_digits(entry["count"] * sample.scale))
    return max(two_significant_digits(sampled_total * sample.scale), at_least)
