-- Consents from every channel (issue #28): the brand's own systems (web forms, the app, the
-- call centre, wet-signature forms, e-mail) record ONAY and RET through the API, the CLI or
-- the web page. They become consent_event rows next to the SMS ones, pushed by the same
-- pusher with the same per-key order, supersession, duplicates and deadlines.

-- One row per consent item recorded by a person or a system (the evidence of a non-SMS
-- consent, as mo_message + sms_in are for an SMS): who recorded it, through what, the
-- recipient exactly as it was written, and the caller's evidence object (form id, call id,
-- IP, notes). Never sent to İYS. One item may give several events (one per type).
CREATE TABLE consent_submission (
    id               bigserial PRIMARY KEY,
    brand_id         text NOT NULL,
    via              text NOT NULL CHECK (via IN ('api', 'web', 'cli')),
    actor            text NOT NULL,           -- 'owner:ID', 'token:ID', 'admin' or 'cli'
    idempotency_key  text,                    -- the request's Idempotency-Key, if any
    item_index       integer NOT NULL,        -- its place in the request's list
    recipient_input  text NOT NULL,           -- as written (0532 …); the events hold +90…
    consent_date     timestamptz NOT NULL,    -- as given: the moment the person gave it
    evidence         jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now()   -- when it was typed in
);

-- An event comes from exactly one origin: an SMS (message_id) or a submission.
ALTER TABLE consent_event ALTER COLUMN message_id DROP NOT NULL;
ALTER TABLE consent_event
    ADD COLUMN submission_id bigint REFERENCES consent_submission (id);
ALTER TABLE consent_event ADD CONSTRAINT consent_event_one_origin
    CHECK ((message_id IS NULL) <> (submission_id IS NULL));
CREATE INDEX consent_event_submission_idx ON consent_event (submission_id)
    WHERE submission_id IS NOT NULL;

-- Idempotency-Key: the first answer to a request, per caller scope ('owner:ID' or 'admin').
-- A retry with the same key and the same request (method, path, body digest) gets the
-- stored answer; the same key with another request is refused (409). Written in the
-- transaction that records the consents, so an answer exists exactly when they do.
CREATE TABLE api_idempotency (
    scope            text NOT NULL,
    key              text NOT NULL,
    request_digest   bytea NOT NULL,
    status           integer NOT NULL,
    response         jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX api_idempotency_created_idx ON api_idempotency (created_at);

-- İYS's single status endpoint allows 1,000 calls an hour per IP (H086): every call by
-- every process is one row here (the pusher's own date checks included), and an owner's
-- refresh is refused (429, Retry-After) when the last hour holds the budget already.
CREATE TABLE iys_status_call (
    account  text NOT NULL,
    at       timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX iys_status_call_idx ON iys_status_call (account, at);
