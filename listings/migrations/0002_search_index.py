"""PostgreSQL-only search index: a GIN index over the weighted tsvector of Han bigrams and words.

SQLite keeps the plain `search_document` column (matched with LIKE), so nothing happens there.
"""

from django.db import migrations

FORWARD = [
    "CREATE INDEX IF NOT EXISTS listing_search_vector_gin "
    "ON listings_listing USING gin (search_vector)",
    # The catalogue only ever searches listed rows; a partial index keeps their scans tight.
    "CREATE INDEX IF NOT EXISTS listing_listed_recent_idx "
    "ON listings_listing (first_listed_at DESC, id DESC) WHERE status = 'listed'",
]
BACKWARD = [
    "DROP INDEX IF EXISTS listing_listed_recent_idx",
    "DROP INDEX IF EXISTS listing_search_vector_gin",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
