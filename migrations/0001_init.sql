-- iys-inbound schema, first cut. Never edit once applied: add 0002_*.sql instead.
-- Every timestamp is timestamptz (UTC inside PostgreSQL); İYS's Turkey-time strings are
-- produced at the edge (iys_push.timefmt).

-- Brand owners and their API tokens (tokens stored as SHA-256 digests, never in clear).
CREATE TABLE owner (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    email       text UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_token (
    id          bigserial PRIMARY KEY,
    owner_id    bigint REFERENCES owner (id) ON DELETE CASCADE,  -- NULL for admin tokens
    is_admin    boolean NOT NULL DEFAULT false,
    name        text NOT NULL DEFAULT '',
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK (is_admin OR owner_id IS NOT NULL)
);

-- Keyword configuration (the rules file's content, keywords.RuleSet.from_dict shape).
CREATE TABLE brand (
    id          text PRIMARY KEY,                 -- slug, e.g. 'acme'
    owner_id    bigint REFERENCES owner (id) ON DELETE SET NULL,
    name        text NOT NULL,
    aliases     text[] NOT NULL DEFAULT '{}',
    iys_code    bigint NOT NULL,
    brand_code  bigint NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}',      -- vocabulary overrides, reply templates
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE number (
    msisdn      text PRIMARY KEY,                 -- as the SMSC sends destination_addr: '4609', '908505320000'
    shared      boolean NOT NULL,
    brand_id    text REFERENCES brand (id) ON DELETE RESTRICT,
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (shared OR brand_id IS NOT NULL)
);

-- SMPP links: configuration lives in the TOML file; this row is the link's live state.
CREATE TABLE link (
    name        text PRIMARY KEY,
    state       text NOT NULL DEFAULT 'down',     -- down | connecting | bound
    owner       text,                             -- host:pid of the process that holds it
    bound_at    timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every PDU that carried a message, exactly as received (the evidence).
CREATE TABLE sms_in (
    id               bigserial PRIMARY KEY,
    link             text NOT NULL,
    received_at      timestamptz NOT NULL,
    command          text NOT NULL,               -- deliver_sm | data_sm | malformed
    sequence         bigint,
    pdu              bytea NOT NULL,              -- raw bytes, header included
    pdu_digest       bytea NOT NULL,              -- sha256 of the PDU without its sequence number
    fields           jsonb,                       -- parsed mandatory fields and raw TLVs
    source_addr      text,                        -- as sent by the SMSC
    sender           text,                        -- E.164 '+905…' or NULL when invalid/alphanumeric
    destination_addr text,
    kind             text NOT NULL,               -- mo | delivery_receipt | … | malformed
    data_coding      integer,
    encoding         text,
    text             text,                        -- decoded text of this PDU (NULL: undecodable)
    redelivery_of    bigint REFERENCES sms_in (id),
    message_id       bigint                       -- the logical message it belongs to (FK below)
);
CREATE INDEX sms_in_redelivery_idx ON sms_in (link, pdu_digest, received_at) WHERE redelivery_of IS NULL;
CREATE INDEX sms_in_received_idx ON sms_in (received_at);

-- Concatenated parts waiting for their siblings (survive restarts and reconnects).
CREATE TABLE sms_part (
    sms_in_id       bigint PRIMARY KEY REFERENCES sms_in (id) DEFERRABLE INITIALLY DEFERRED,
    link            text NOT NULL,
    concat_key      text NOT NULL,                -- scheme:source:destination:reference:total
    part_no         integer NOT NULL,
    total           integer NOT NULL,
    payload         bytea NOT NULL,
    data_coding     integer NOT NULL,
    locking_shift   integer NOT NULL DEFAULT 0,
    single_shift    integer NOT NULL DEFAULT 0,
    received_at     timestamptz NOT NULL,
    message_id      bigint                        -- set when assembled or timed out
);
-- one pending part per position: a second, different copy of part 2 is kept in sms_in only
CREATE UNIQUE INDEX sms_part_pending_idx ON sms_part (link, concat_key, part_no)
    WHERE message_id IS NULL;
CREATE INDEX sms_part_age_idx ON sms_part (received_at) WHERE message_id IS NULL;

-- One logical mobile-originated message (a single PDU or assembled parts) and its outcome.
CREATE TABLE mo_message (
    id               bigserial PRIMARY KEY,
    link             text NOT NULL,
    received_at      timestamptz NOT NULL,        -- first part's arrival: the consent moment
    completed_at     timestamptz NOT NULL,
    sender           text,
    source_addr      text,
    destination_addr text,
    text             text,
    normalized       text,
    outcome          text NOT NULL,               -- consent | ambiguous | unknown_brand | no_keyword |
                                                  -- not_text | unknown_number | invalid_sender | incomplete
    reason           text NOT NULL DEFAULT ''
);
CREATE INDEX mo_message_received_idx ON mo_message (received_at);
CREATE INDEX mo_message_sender_idx ON mo_message (sender);
-- deferred: the pipeline inserts a batch's PDUs before the messages they belong to
ALTER TABLE sms_in ADD FOREIGN KEY (message_id) REFERENCES mo_message (id)
    DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE sms_part ADD FOREIGN KEY (message_id) REFERENCES mo_message (id)
    DEFERRABLE INITIALLY DEFERRED;

-- The outbox: one row per (brand, type) movement to push to İYS.
CREATE TABLE consent_event (
    id                  bigserial PRIMARY KEY,
    message_id          bigint NOT NULL REFERENCES mo_message (id),
    brand_id            text NOT NULL REFERENCES brand (id),
    iys_code            bigint NOT NULL,          -- snapshot at creation time
    brand_code          bigint NOT NULL,
    recipient           text NOT NULL,            -- E.164
    recipient_type      text NOT NULL CHECK (recipient_type IN ('BIREYSEL', 'TACIR')),
    type                text NOT NULL CHECK (type IN ('MESAJ', 'ARAMA', 'EPOSTA')),
    status              text NOT NULL CHECK (status IN ('ONAY', 'RET')),
    source              text NOT NULL DEFAULT 'HS_MESAJ',
    received_at         timestamptz NOT NULL,     -- when the SMS reached us (kept as evidence)
    consent_date        timestamptz NOT NULL,     -- what is sent to İYS (may be moved forward to keep order)
    deadline_at         timestamptz NOT NULL,     -- end of the third business day after received_at
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'accepted', 'not_needed', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_owner         text,                     -- worker holding it; lease_until bounds a crash
    lease_until         timestamptz,
    batch_request_id    text,
    iys_transaction_id  text,
    iys_creation_date   text,
    last_error_code     text,
    last_error          text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_event_pending_idx ON consent_event (next_attempt_at, deadline_at)
    WHERE state = 'pending';
CREATE INDEX consent_event_key_idx
    ON consent_event (brand_code, recipient, recipient_type, type, consent_date);
CREATE INDEX consent_event_brand_idx ON consent_event (brand_id, created_at);

-- Every request to İYS and its answer (the evidence of what we sent, and when).
CREATE TABLE iys_attempt (
    id            bigserial PRIMARY KEY,
    event_id      bigint REFERENCES consent_event (id),
    started_at    timestamptz NOT NULL,
    latency_ms    double precision NOT NULL,
    method        text NOT NULL,
    path          text NOT NULL,
    request       jsonb,
    http_status   integer,                        -- NULL: no answer (timeout, connection error)
    response      text,
    code          text,                           -- first H-code of the answer, if any
    outcome       text NOT NULL
);
CREATE INDEX iys_attempt_event_idx ON iys_attempt (event_id);

-- The İYS access token, shared by every process (one fetch at a time: row lock).
CREATE TABLE iys_token (
    account              text PRIMARY KEY,        -- username@base_url
    access_token         text,
    access_expires_at    timestamptz,
    refresh_token        text,
    refresh_expires_at   timestamptz,
    halted_until         timestamptz,             -- after H084: no token call before this
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Our view of each key's state in İYS (from accepted pushes, pulled changes, status queries).
CREATE TABLE iys_key_state (
    brand_code      bigint NOT NULL,
    recipient       text NOT NULL,
    recipient_type  text NOT NULL,
    type            text NOT NULL,
    status          text NOT NULL,
    consent_date    timestamptz,
    source          text,
    origin          text NOT NULL,                -- push | pull | status
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_code, recipient, recipient_type, type)
);

-- İYS-side changes (e-Devlet, 3338, app) pulled from consents/changes, and the cursor.
CREATE TABLE iys_change (
    id              bigserial PRIMARY KEY,
    brand_code      bigint NOT NULL,
    transaction_id  text NOT NULL,
    recipient       text NOT NULL,
    recipient_type  text NOT NULL,
    type            text NOT NULL,
    status          text NOT NULL,
    source          text NOT NULL,
    consent_date    text,
    creation_date   text,
    payload         jsonb NOT NULL,
    pulled_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (brand_code, transaction_id, recipient, type)
);

CREATE TABLE iys_pull_cursor (
    brand_code  bigint PRIMARY KEY,
    after       text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Confirmation replies to recipients, sent by transceiver links (written with the message,
-- in the same transaction, so a crash cannot lose or double a reply decision).
CREATE TABLE sms_out (
    id               bigserial PRIMARY KEY,
    message_id       bigint NOT NULL REFERENCES mo_message (id),
    link             text NOT NULL,
    recipient        text NOT NULL,               -- E.164
    source_addr      text NOT NULL,               -- the number the recipient wrote to
    text             text NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    smsc_message_ids text[] NOT NULL DEFAULT '{}',
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    sent_at          timestamptz
);
CREATE INDEX sms_out_pending_idx ON sms_out (link, next_attempt_at) WHERE state = 'pending';
CREATE INDEX sms_out_recent_idx ON sms_out (recipient, source_addr, created_at);

-- A token bucket per İYS account, shared by every process (İYS counts requests per IP).
CREATE TABLE iys_rate (
    account     text PRIMARY KEY,
    tokens      double precision NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
