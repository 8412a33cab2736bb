"""Indexes for searches with many matches (PostgreSQL only; SQLite has nothing to do).

* A GIN index over the title and keyword part of the search vector (weights A and B). When a
  query matches too many listings to rank them all, the relevance order puts the title/keyword
  hits first (listings.relevance_window); this finds them without reading every match. An
  expression index, so there is no extra column to keep in step.
* The price sorts, in the exact order the catalogue asks for (NULLS LAST, then newest id), over
  listed rows: a page by price then walks the index and stops, instead of sorting every match.
"""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS listing_search_head_gin "
    "ON listings_listing USING gin (ts_filter(search_vector, '{a,b}'))",
    "CREATE INDEX IF NOT EXISTS listing_listed_price_asc_idx "
    "ON listings_listing (min_price_fen ASC NULLS LAST, id DESC) WHERE status = 'listed'",
    "CREATE INDEX IF NOT EXISTS listing_listed_price_desc_idx "
    "ON listings_listing (min_price_fen DESC NULLS LAST, id DESC) WHERE status = 'listed'",
]
BACKWARD = [
    "DROP INDEX IF EXISTS listing_listed_price_desc_idx",
    "DROP INDEX IF EXISTS listing_listed_price_asc_idx",
    "DROP INDEX IF EXISTS listing_search_head_gin",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("listings", "0005_verbose_names")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
