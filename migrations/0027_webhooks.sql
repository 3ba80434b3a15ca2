-- Webhooks (issue #32): every consent change reaches the brand's CRM, signed, retried, kept.
--
-- The outbox is fed by triggers, so every channel that writes consent_event (SMS, API, links,
-- imports) or the İYS mirror (pull, İYS push, reconciliation) is covered without knowing of
-- webhooks. The triggers write only when the brand's owner has an endpoint that wants the
-- kind (an EXISTS on a small table): with no endpoints the MO hot path pays one index probe
-- per statement. The per-brand sequence number is assigned later, by one sequencer at a time
-- (inbound/webhooks/sql/webhooks.sql, sequence_and_fan_out): a counter row bumped inside
-- the hot path's transaction would serialise every batch of a brand until commit.

-- An owner's receiving endpoint. secret (whsec_…) signs; during a rotation's overlap the
-- previous one signs too (both signatures sent). Kept in the database as they are, like the
-- İYS tokens (we must be able to sign); never logged, shown once.
CREATE TABLE webhook_endpoint (
    id               bigserial PRIMARY KEY,
    owner_id         bigint NOT NULL REFERENCES owner (id) ON DELETE CASCADE,
    url              text NOT NULL,
    events           text[] NOT NULL,
    brands           text[],                   -- NULL: every brand of the owner
    full_recipient   boolean NOT NULL DEFAULT false,
    description      text NOT NULL DEFAULT '',
    secret           text NOT NULL,
    previous_secret  text,
    previous_until   timestamptz,
    failing_since    timestamptz,              -- first failure since the last success
    paused_at        timestamptz,              -- every delivery failed for a day: kept, not sent
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_endpoint_owner_idx ON webhook_endpoint (owner_id);

-- One row per thing that happened, for the brand's owner at that moment (owner_id), with
-- the API's field names in data. seq: per brand, 1, 2, 3 … in the order the sequencer saw
-- the rows committed.
CREATE TABLE webhook_event (
    id          bigserial PRIMARY KEY,
    brand_id    text NOT NULL,
    owner_id    bigint NOT NULL,
    kind        text NOT NULL,
    seq         bigint,
    data        jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_event_unsequenced_idx ON webhook_event (id) WHERE seq IS NULL;
CREATE INDEX webhook_event_owner_idx ON webhook_event (owner_id, created_at);

CREATE TABLE webhook_brand_seq (
    brand_id  text PRIMARY KEY,
    last      bigint NOT NULL
);

-- One row per (endpoint, event): the retry state. A replay sets it pending again (same
-- webhook-id: the receiver may dedupe on it).
CREATE TABLE webhook_delivery (
    endpoint_id       bigint NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    event_id          bigint NOT NULL REFERENCES webhook_event (id) ON DELETE CASCADE,
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL,
    first_attempt_at  timestamptz,             -- the three days of retries count from here
    delivered_at      timestamptz,
    last_status       integer,
    last_error        text,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_delivery_event_idx ON webhook_delivery (event_id);

-- Every attempt (the delivery log of an endpoint).
CREATE TABLE webhook_attempt (
    id           bigserial PRIMARY KEY,
    endpoint_id  bigint NOT NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    event_id     bigint NOT NULL,
    at           timestamptz NOT NULL,
    latency_ms   double precision NOT NULL,
    http_status  integer,                      -- NULL: no answer (refused, timeout, reset)
    outcome      text NOT NULL,                -- delivered | http_error | timeout | refused | error
    error        text
);
CREATE INDEX webhook_attempt_endpoint_idx ON webhook_attempt (endpoint_id, id);

-- The one way in: a kind for a brand, stored only when the brand's owner has an endpoint
-- wanting it. For the lead's wiring of import.finished (consent_import.finished_at):
--   PERFORM webhook_enqueue(NEW.brand_id, 'import.finished', jsonb_build_object(...));
CREATE FUNCTION webhook_enqueue(p_brand_id text, p_kind text, p_data jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO webhook_event (brand_id, owner_id, kind, data)
    SELECT b.id, b.owner_id, p_kind, p_data || jsonb_build_object('brand', b.id)
      FROM brand b
     WHERE b.id = p_brand_id
       AND EXISTS (SELECT 1 FROM webhook_endpoint e
                    WHERE e.owner_id = b.owner_id AND p_kind = ANY (e.events))
$$;

CREATE FUNCTION webhook_consent_data(e consent_event) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'event_id', e.id, 'brand', e.brand_id, 'recipient', e.recipient,
        'recipient_type', e.recipient_type, 'type', e.type, 'status', e.status,
        'source', e.source, 'consent_date', e.consent_date, 'state', e.state,
        'received_at', e.received_at, 'deadline_at', e.deadline_at,
        'message_id', e.message_id, 'submission_id', e.submission_id)
$$;

-- consent.received / review.needed: once per INSERT statement (the MO path writes a batch
-- in one statement), one INSERT … SELECT over the new rows.
CREATE FUNCTION webhook_consent_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO webhook_event (brand_id, owner_id, kind, data)
    SELECT n.brand_id, b.owner_id, k.kind, webhook_consent_data(n)
      FROM new_rows n
      JOIN brand b ON b.id = n.brand_id
     CROSS JOIN LATERAL (SELECT CASE WHEN n.state = 'review' THEN 'review.needed'
                                     ELSE 'consent.received' END AS kind) k
     WHERE EXISTS (SELECT 1 FROM webhook_endpoint w
                    WHERE w.owner_id = b.owner_id AND k.kind = ANY (w.events))
     ORDER BY n.id;
    RETURN NULL;
END $$;

CREATE TRIGGER consent_event_webhook_received
    AFTER INSERT ON consent_event REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION webhook_consent_inserted();

-- consent.settled: a row whose state moved into an end state (the WHEN is evaluated without
-- calling the function, so the pusher's other updates cost nothing).
CREATE FUNCTION webhook_consent_settled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM webhook_enqueue(NEW.brand_id, 'consent.settled',
        webhook_consent_data(NEW) || jsonb_build_object(
            'previous_state', OLD.state,
            'iys_transaction_id', NEW.iys_transaction_id,
            'iys_creation_date', NEW.iys_creation_date,
            'error_code', NEW.last_error_code));
    RETURN NULL;
END $$;

CREATE TRIGGER consent_event_webhook_settled
    AFTER UPDATE OF state ON consent_event FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          AND NEW.state IN ('accepted', 'not_needed', 'superseded', 'duplicate', 'failed'))
    EXECUTE FUNCTION webhook_consent_settled();

-- iys.changed: a movement İYS made or told us about (pull, İYS's push, reconciliation);
-- not our own accepted pushes (those are consent.settled) nor status queries.
CREATE FUNCTION webhook_iys_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    FOR b IN SELECT id FROM brand WHERE brand_code = NEW.brand_code LOOP
        PERFORM webhook_enqueue(b.id, 'iys.changed', jsonb_build_object(
            'recipient', NEW.recipient, 'recipient_type', NEW.recipient_type,
            'type', NEW.type, 'status', NEW.status, 'source', NEW.source,
            'consent_date', NEW.consent_date, 'iys_transaction_id', NEW.transaction_id,
            'iys_creation_date', NEW.creation_date, 'origin', NEW.origin));
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER iys_key_state_webhook_inserted
    AFTER INSERT ON iys_key_state FOR EACH ROW
    WHEN (NEW.origin IN ('pull', 'iys_push', 'reconcile'))
    EXECUTE FUNCTION webhook_iys_changed();

CREATE TRIGGER iys_key_state_webhook_updated
    AFTER UPDATE ON iys_key_state FOR EACH ROW
    WHEN (NEW.origin IN ('pull', 'iys_push', 'reconcile')
          AND (OLD.status, OLD.consent_date, OLD.transaction_id, OLD.source)
              IS DISTINCT FROM (NEW.status, NEW.consent_date, NEW.transaction_id, NEW.source))
    EXECUTE FUNCTION webhook_iys_changed();

-- E-mail notices for people without a CRM (issue #32 item 6): an owner's users subscribe
-- an address to the daily digest and/or immediate notices (ret_deadline: a RET within 24 h
-- of its deadline; review: a near miss waiting; failed: an event İYS refused; drift: the
-- reconciliation changed our mirror). notice_sent remembers what was sent, so each item is
-- mailed once per subscription whatever process sends.
CREATE TABLE notice_subscription (
    id          bigserial PRIMARY KEY,
    owner_id    bigint NOT NULL REFERENCES owner (id) ON DELETE CASCADE,
    email       text NOT NULL,
    digest      boolean NOT NULL DEFAULT true,
    immediate   text[] NOT NULL DEFAULT '{ret_deadline,review,failed,drift}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, email)
);

CREATE TABLE notice_sent (
    subscription_id  bigint NOT NULL REFERENCES notice_subscription (id) ON DELETE CASCADE,
    item             text NOT NULL,            -- 'failed:123', 'digest:2026-12-03', …
    sent_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, item)
);
