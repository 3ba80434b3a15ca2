-- The events' brand check of the MO batch, planned once with the statement (issue #8).
--
-- Why: iys_require_brands (0005) ran its query through SPI, and PL/pgSQL planned it again at
-- every call: a query on a parameter array stays on custom plans. Measured with `perf` on the
-- backend: 17 % of a one-PDU batch's CPU, ~90 us a batch whatever its size. The batch
-- statement (inbound/store.py) now looks for a missing brand itself, in an EXISTS subquery
-- that is part of its cached plan and runs once a statement, and calls this function only
-- when one is missing, to fail the statement with the foreign key's error code as before.
-- The check reads the statement's own snapshot, taken after the statement's locks (so after
-- any brand deletion it waited for): the same guarantee as before (migrations/0005).
-- iys_require_brands stays: a process of the previous release may still call it.
CREATE FUNCTION iys_brand_missing(ids text[]) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT i INTO missing
      FROM unnest(ids) AS i
     WHERE NOT EXISTS (SELECT 1 FROM brand b WHERE b.id = i)
     LIMIT 1;
    RAISE EXCEPTION 'consent event for brand %, which does not exist', coalesce(missing, '?')
          USING ERRCODE = 'foreign_key_violation';
END $$;
