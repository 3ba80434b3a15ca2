-- Bulk upload of consent files (issue #31).
--
-- consent_import: one uploaded file (CSV or XLSX) for one brand, its counts and its life:
-- storing (rows read, checked and copied in, all in one transaction) → pushing (its valid
-- rows are consent events, sent by the pusher's import lane) → finished (finished_at set:
-- the webhook helper emits import.finished); or cancelled (the rows not yet sent are
-- dismissed; finished_at once the ones in flight settle) or failed (nothing was stored).
CREATE TABLE consent_import (
    id              bigserial PRIMARY KEY,
    brand_id        text NOT NULL REFERENCES brand (id),
    owner_id        bigint,                   -- the brand's owner at upload: the fair share
    via             text NOT NULL CHECK (via IN ('api', 'web', 'cli')),
    actor           text NOT NULL,
    filename        text,
    format          text NOT NULL CHECK (format IN ('csv', 'xlsx')),
    state           text NOT NULL DEFAULT 'storing'
                    CHECK (state IN ('storing', 'pushing', 'finished', 'cancelled', 'failed')),
    rows_read       integer NOT NULL DEFAULT 0,
    rows_valid      integer NOT NULL DEFAULT 0,
    rows_refused    integer NOT NULL DEFAULT 0,
    rows_duplicate  integer NOT NULL DEFAULT 0,
    rows_unchanged  integer NOT NULL DEFAULT 0,
    refused_by      jsonb NOT NULL DEFAULT '{}',   -- reason code → rows
    error           text,                     -- why a failed import stored nothing
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),   -- progress heartbeat while storing
    stored_at       timestamptz,
    cancelled_at    timestamptz,
    finished_at     timestamptz
);
CREATE INDEX consent_import_brand_idx ON consent_import (brand_id, id);
CREATE INDEX consent_import_active_idx ON consent_import (owner_id, id)
    WHERE state IN ('pushing', 'cancelled') AND finished_at IS NULL;

-- Every row of the file as written, with its outcome here: valid (then its event), refused
-- (the reason and İYS's code), duplicate (a later row of the file has the key) or unchanged
-- (already in that state here). The rows.csv answer is read from here.
CREATE TABLE consent_import_row (
    import_id           bigint NOT NULL REFERENCES consent_import (id) ON DELETE CASCADE,
    row_no              integer NOT NULL,     -- the line's data row, from 1
    recipient_input     text,
    type                text,
    status              text,
    source              text,
    recipient_type      text,
    consent_date_input  text,
    recipient           text,                 -- normalised (+90…, lower-case e-mail) if valid
    consent_date        timestamptz,
    deadline_at         timestamptz,
    outcome             text NOT NULL CHECK (outcome IN ('valid', 'refused', 'duplicate',
                                                         'unchanged')),
    code                text,                 -- İYS's code or the field at fault
    reason              text,
    submission_id       bigint,               -- ids taken from the sequences first, so
    event_id            bigint,               -- the rows are recorded without a join
    PRIMARY KEY (import_id, row_no)
);

-- An import's events: parked with batch_request_id = 'import:<id>' until the import lane
-- sends them (the live claim never takes a batched event, yet a live event of the same key
-- still waits behind one: it follows the import row, in consent-date order).
ALTER TABLE consent_event ADD COLUMN import_id bigint;
CREATE INDEX consent_event_import_idx ON consent_event (import_id, state)
    WHERE import_id IS NOT NULL;
