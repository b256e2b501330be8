"""Consent history is evidence: rows are inserted, never rewritten or deleted.

The trigger lets a merge or unmerge repoint a row to another customer (only customer_id
changes) and lets an erasure, which sets `scrm.consent_rewrite` for its own transaction
(SET LOCAL), strip personal evidence. Anything else raises.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION customers_consent_append_only() RETURNS trigger AS $$
BEGIN
    IF current_setting('scrm.consent_rewrite', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'consent history is append-only: rows are never deleted';
    END IF;
    IF (NEW.id, NEW.channel, NEW.purpose, NEW.status, NEW.recorded_at, NEW.source, NEW.evidence::text)
       IS DISTINCT FROM
       (OLD.id, OLD.channel, OLD.purpose, OLD.status, OLD.recorded_at, OLD.source, OLD.evidence::text) THEN
        RAISE EXCEPTION 'consent history is append-only: record a new row instead';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER consent_append_only
    BEFORE UPDATE OR DELETE ON customers_consent
    FOR EACH ROW EXECUTE FUNCTION customers_consent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS consent_append_only ON customers_consent;
DROP FUNCTION IF EXISTS customers_consent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_merges_imports_requests")]

    operations = [migrations.RunSQL(CREATE, DROP)]
