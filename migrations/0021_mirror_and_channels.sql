-- Shared ground for issues #29-#32, laid down before they are built in parallel.
--
-- The İYS mirror (issue #29) is iys_key_state: one row per key (brand, recipient, recipient
-- type, type) with İYS's latest movement as far as we know. It gains the movement's İYS
-- transaction id and creation date, and where it came from (origin: push = our accepted
-- push, pull = the changes feed, iys_push = İYS's push registration, reconcile = the daily
-- file, status = a status query, seed = a seeding run).
ALTER TABLE iys_key_state
    ADD COLUMN transaction_id text,
    ADD COLUMN creation_date  timestamptz;

-- How fresh the mirror is, per brand: the last successful pull, the last movement received
-- from İYS's push registration, whether push is registered, and the last reconciled day.
-- The pre-send check reports as_of from here.
CREATE TABLE iys_mirror_status (
    brand_code       bigint PRIMARY KEY,
    pulled_at        timestamptz,             -- last pull round that ended without error
    pushed_at        timestamptz,             -- last movement stored from İYS's push
    push_registered  boolean NOT NULL DEFAULT false,
    reconciled_day   date,                    -- the newest day whose file matched
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Consent events from links (#30) and bulk imports (#31) carry their evidence in a
-- consent_submission row, like the API's, so consent_event keeps exactly one origin.
ALTER TABLE consent_submission DROP CONSTRAINT consent_submission_via_check;
ALTER TABLE consent_submission ADD CONSTRAINT consent_submission_via_check
    CHECK (via IN ('api', 'web', 'cli', 'link', 'import', 'seed'));
