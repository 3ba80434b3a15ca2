-- İYS push (issue #5): where each event sits in its batch, and batches as claimable work.

-- İYS answers a batch with one result per item *index*; a partial answer (some items still
-- `enqueue`) must map back by the index the item had when it was sent, not by position
-- among the events still pending.
ALTER TABLE consent_event ADD COLUMN batch_index integer;
CREATE INDEX consent_event_batch_idx ON consent_event (batch_request_id)
    WHERE batch_request_id IS NOT NULL;

-- One row per submitted batch: polled by one worker at a time (lease), again while items
-- are `enqueue`, done when no item of it is pending any more.
CREATE TABLE iys_batch (
    request_id    text PRIMARY KEY,
    iys_code      bigint NOT NULL,
    brand_code    bigint NOT NULL,
    items         integer NOT NULL,
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    next_poll_at  timestamptz NOT NULL,
    polls         integer NOT NULL DEFAULT 0,
    lease_owner   text,
    lease_until   timestamptz,
    done_at       timestamptz
);
CREATE INDEX iys_batch_due_idx ON iys_batch (next_poll_at) WHERE done_at IS NULL;
