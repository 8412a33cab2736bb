"""On PostgreSQL, refuse any UPDATE that changes a contract's frozen columns or a signature row.

The model refuses too; this catches raw SQL, bulk `update()` and anything else that bypasses it.
Other databases (the embedded SQLite default) rely on the model guard and the hash check.
"""

from django.db import migrations

FROZEN_COLUMNS = [
    "reference",
    "offer_id",
    "template_id",
    "price_plan_id",
    "listing_id",
    "listing_version_id",
    "seller_id",
    "buyer_id",
    "choices",
    "parameters",
    "plan_kind",
    "price_fen",
    "term_months",
    "subscription_months",
    "seats",
    "text_zh",
    "text_en",
    "policy",
    "content_hash",
    "replaces_id",
    "created_at",
    "created_by_id",
]

CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FROZEN_COLUMNS)

CREATE = f"""
CREATE OR REPLACE FUNCTION licensing_contract_frozen() RETURNS trigger AS $$
BEGIN
    IF {CHANGED} THEN
        RAISE EXCEPTION 'licensing_contract % is frozen: make a new contract', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER licensing_contract_frozen BEFORE UPDATE ON licensing_contract
    FOR EACH ROW EXECUTE FUNCTION licensing_contract_frozen();

CREATE OR REPLACE FUNCTION licensing_signature_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'licensing_contractsignature rows are immutable'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER licensing_signature_immutable BEFORE UPDATE ON licensing_contractsignature
    FOR EACH ROW EXECUTE FUNCTION licensing_signature_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS licensing_contract_frozen ON licensing_contract;
DROP FUNCTION IF EXISTS licensing_contract_frozen();
DROP TRIGGER IF EXISTS licensing_signature_immutable ON licensing_contractsignature;
DROP FUNCTION IF EXISTS licensing_signature_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("licensing", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
