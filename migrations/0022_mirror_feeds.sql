-- The İYS mirror's feeds (issue #29): both pull sources, İYS's push registration, seeding
-- and the daily reconciliation. iys_key_state stays the mirror (one row per key); its origin
-- now says which feed wrote the row: push (our accepted push), status / status_date (a
-- status query), pull (the changes feed), iys_push (İYS's push registration), reconcile (the
-- daily file), seed (a seeding run). Every İYS-side movement goes through
-- iys_push.mirror.apply_movements.

-- Each İYS-side movement is stored once (the unique key absorbs repeats from any feed); the
-- feed that brought it first, and whether it is one of our own accepted pushes (the HS feed
-- and the daily file list ours too).
ALTER TABLE iys_change
    ADD COLUMN channel text NOT NULL DEFAULT 'pull_iys'
        CHECK (channel IN ('pull_iys', 'pull_hs', 'iys_push', 'reconcile')),
    ADD COLUMN ours    boolean NOT NULL DEFAULT false;

-- one cursor per brand and source (IYS: citizens' movements; HS: every provider's, ours too)
ALTER TABLE iys_pull_cursor ADD COLUMN source text NOT NULL DEFAULT 'IYS'
    CHECK (source IN ('IYS', 'HS'));
ALTER TABLE iys_pull_cursor DROP CONSTRAINT iys_pull_cursor_pkey;
ALTER TABLE iys_pull_cursor ADD PRIMARY KEY (brand_code, source);

-- Every request to POST /iys/push/{brand}, stored before it is answered: the raw body (cut
-- at 1 MiB, the endpoint's limit), what it was and what came of it. The movements themselves
-- are in iys_change (channel iys_push).
CREATE TABLE iys_push_inbox (
    id           bigserial PRIMARY KEY,
    brand_id     text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    remote       text,
    outcome      text NOT NULL CHECK (outcome IN ('stored', 'test', 'invalid')),
    movements    integer NOT NULL DEFAULT 0,     -- movements in the body
    new_rows     integer NOT NULL DEFAULT 0,     -- of which not stored before
    detail       text,
    body         text NOT NULL
);
CREATE INDEX iys_push_inbox_received_idx ON iys_push_inbox (received_at);

-- The brand's owner chooses whether a matching day's agreement is recorded in İYS
-- automatically (it is the brand's legal statement): default off.
ALTER TABLE brand ADD COLUMN reconcile_auto_agree boolean NOT NULL DEFAULT false;

-- The daily reconciliation's report, per brand and day (the latest run of the day).
CREATE TABLE iys_reconciliation (
    brand_code      bigint NOT NULL,
    day             date NOT NULL,
    ran_at          timestamptz NOT NULL DEFAULT now(),
    runs            integer NOT NULL DEFAULT 1,
    outcome         text NOT NULL CHECK (outcome IN ('matched', 'drift', 'mismatch',
                                                     'unavailable')),
    file_rows       integer NOT NULL DEFAULT 0,
    counted_rows    integer,                  -- İYS's daily counts, summed
    file_hash       text,                     -- SHA-384 of the file as served (hex)
    iys_hash        text,                     -- İYS's agreement hashValue
    hash_ok         boolean,
    applied         integer NOT NULL DEFAULT 0,   -- movements the mirror had missed
    drift_rows      integer NOT NULL DEFAULT 0,   -- our accepted events the file lacks
    drift           jsonb NOT NULL DEFAULT '[]',  -- [{event_id, transaction_id, type, status}]
    detail          text,
    agreed_at       timestamptz,              -- PUT agreements answered agreementCaptured
    PRIMARY KEY (brand_code, day)
);
