-- The MO hot path without the consent_event -> brand foreign key (issue #8, throughput).
--
-- Why: that foreign key made every event take a KEY SHARE lock on its brand's row. All the
-- MOs of a brand share that one row, and the batches of a link are stored concurrently
-- (pipelined group commit), so each lock turned the row's locker into a new MultiXact and
-- every later check of every row read its members back. Measured with the pusher off, window
-- 50: PostgreSQL CPU 130 -> 78 us a MO, 5,100 -> 7,300 MO/s (docs/DESIGN-NOTES.md).
--
-- The guarantee stays, enforced where it costs nothing on the hot path:
-- * a brand that has events can be neither deleted nor renamed (the trigger below). It first
--   takes a SHARE lock on consent_event, which waits for every batch being written and holds
--   off new ones until the brand change commits, so no event can slip in between the check
--   and the delete;
-- * the batch insert checks, without locking, that every brand it writes exists
--   (iys_require_brands in inbound/store.py INSERT_BATCH) and fails the whole batch
--   otherwise, with the foreign key's error code, as the foreign key did.
ALTER TABLE consent_event DROP CONSTRAINT consent_event_brand_id_fkey;

CREATE FUNCTION iys_brand_keep_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    LOCK TABLE consent_event IN SHARE MODE;
    IF EXISTS (SELECT 1 FROM consent_event WHERE brand_id = OLD.id) THEN
        RAISE EXCEPTION 'brand % has consent events', OLD.id
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER brand_keep_events BEFORE DELETE OR UPDATE OF id ON brand
    FOR EACH ROW EXECUTE FUNCTION iys_brand_keep_events();

CREATE FUNCTION iys_require_brands(ids text[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT i INTO missing
      FROM (SELECT DISTINCT i FROM unnest(ids) AS i) AS d
     WHERE NOT EXISTS (SELECT 1 FROM brand b WHERE b.id = i)
     LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'consent event for brand %, which does not exist', missing
              USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN true;
END $$;

-- No query reads these two (events are listed by id, filtered by received_at; raw PDUs are
-- found by digest or by message): they only cost a write per MO.
DROP INDEX consent_event_brand_idx;
DROP INDEX sms_in_received_idx;
