"""The catalogue's "newest" sort orders by first_listed_at DESC NULLS LAST: the index must say the
same, or PostgreSQL sorts every match instead of walking the index (0002 created it NULLS FIRST)."""

from django.db import migrations

FORWARD = [
    "DROP INDEX IF EXISTS listing_listed_recent_idx",
    "CREATE INDEX IF NOT EXISTS listing_listed_recent_idx "
    "ON listings_listing (first_listed_at DESC NULLS LAST, id DESC) WHERE status = 'listed'",
]
BACKWARD = [
    "DROP INDEX IF EXISTS listing_listed_recent_idx",
    "CREATE INDEX IF NOT EXISTS listing_listed_recent_idx "
    "ON listings_listing (first_listed_at DESC, id DESC) WHERE status = 'listed'",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("listings", "0002_search_index")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
