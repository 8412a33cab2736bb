"""A covering index for catalogue browsing without a text query (category, price, seller...):
facet counts and pages are then answered from the index alone (index-only scans), without reading
the wide listing rows."""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS listing_catalogue_facets_idx "
    "ON listings_listing (status, visibility, category) "
    "INCLUDE (licence_family, update_frequency, seller_id, min_price_fen, formats, "
    "first_listed_at)",
]
BACKWARD = ["DROP INDEX IF EXISTS listing_catalogue_facets_idx"]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("listings", "0003_listed_recent_index_nulls_last")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
