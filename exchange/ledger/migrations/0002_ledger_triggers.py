"""PostgreSQL triggers that make the ledger's rules hold even if Python is bypassed.

1. Postings and transactions are immutable: UPDATE and DELETE are refused row by row, TRUNCATE
   statement-wide. As for the audit log (audit migration 0002), TRUNCATE is let through when the
   session setting exchange.audit_truncate_allowed is 'on', which only the test suite sets
   (Django's test flush truncates).
2. An account never changes owner or kind.
3. Deferred constraint triggers, checked at COMMIT (so a transaction may write its postings one
   by one):
   - every ledger transaction has at least two postings and they sum to zero;
   - each posting's balance_after is the account's previous posting's balance_after plus its
     amount (postings of one account are written under its row lock, so ids follow that order);
   - an account's stored balance equals its latest posting's balance_after.
   By induction the stored balance always equals the sum of the account's postings, with a check
   of one index lookup per row. The CHECK constraint on balance (migration 0001) adds the floor.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('exchange.audit_truncate_allowed', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger % is immutable: % refused (write a correcting transaction instead)',
        TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_no_update_delete BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transaction_no_update_delete BEFORE UPDATE OR DELETE ON ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transaction_no_truncate BEFORE TRUNCATE ON ledger_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_account_identity_fixed() RETURNS trigger AS $$
BEGIN
    IF NEW.kind <> OLD.kind OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id THEN
        RAISE EXCEPTION 'ledger account #% cannot change its owner or kind', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_account_identity BEFORE UPDATE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_identity_fixed();

CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
DECLARE
    txn_id bigint;
    total numeric;
    n integer;
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        txn_id := NEW.transaction_id;
    ELSE
        txn_id := NEW.id;
    END IF;
    SELECT coalesce(sum(amount), 0), count(*) INTO total, n
        FROM ledger_posting WHERE transaction_id = txn_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'ledger transaction #% is unbalanced: % postings summing to %',
            txn_id, n, total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();
CREATE CONSTRAINT TRIGGER ledger_transaction_balanced AFTER INSERT ON ledger_transaction
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

CREATE OR REPLACE FUNCTION ledger_posting_chained() RETURNS trigger AS $$
DECLARE
    previous bigint;
BEGIN
    SELECT balance_after INTO previous FROM ledger_posting
        WHERE account_id = NEW.account_id AND id < NEW.id ORDER BY id DESC LIMIT 1;
    IF NEW.balance_after <> coalesce(previous, 0) + NEW.amount THEN
        RAISE EXCEPTION 'ledger posting #% on account #% does not follow the previous balance',
            NEW.id, NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_chain AFTER INSERT ON ledger_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_chained();

CREATE OR REPLACE FUNCTION ledger_account_matches_postings() RETURNS trigger AS $$
DECLARE
    current_balance bigint;
    latest bigint;
BEGIN
    SELECT balance INTO current_balance FROM ledger_account WHERE id = NEW.id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT balance_after INTO latest FROM ledger_posting
        WHERE account_id = NEW.id ORDER BY id DESC LIMIT 1;
    IF current_balance <> coalesce(latest, 0) THEN
        RAISE EXCEPTION 'ledger account #% balance % does not match its postings (%)',
            NEW.id, current_balance, coalesce(latest, 0)
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_account_balance_matches AFTER INSERT OR UPDATE ON ledger_account
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_account_matches_postings();
"""

DROP = """
DROP TRIGGER IF EXISTS ledger_account_balance_matches ON ledger_account;
DROP TRIGGER IF EXISTS ledger_posting_chain ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_transaction_balanced ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_account_identity ON ledger_account;
DROP TRIGGER IF EXISTS ledger_transaction_no_truncate ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_transaction_no_update_delete ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_posting_no_truncate ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_no_update_delete ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_account_matches_postings();
DROP FUNCTION IF EXISTS ledger_posting_chained();
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
DROP FUNCTION IF EXISTS ledger_account_identity_fixed();
DROP FUNCTION IF EXISTS ledger_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
