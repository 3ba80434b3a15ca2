-- The review queue for near misses (issue #24, item 2): a message that looks like an attempt
-- to opt out but is not a command ("iptal etmek istiyorum", "izin vermiyorum") is stored with
-- outcome needs_review and the RETs a confirmation would create, as consent_event rows in
-- state 'review' (0010). The pusher claims only 'pending', so they are never sent until a
-- person confirms one (-> pending) or dismisses it (-> dismissed), or until 90 % of its
-- window passes and it becomes a RET by itself (review_decision 'automatic'), unless the
-- brand's settings say review_auto_ret = false.

-- The batch's event rows carry their state: 'pending' for a command, 'review' for a near
-- miss (inbound/pipeline.py _events; appended last, as the pipeline's tuples are).
ALTER TYPE mo_batch_event ADD ATTRIBUTE state text;

-- Who decided a review item, how and when: kept as evidence next to the event.
ALTER TABLE consent_event
    ADD COLUMN review_decision text
        CHECK (review_decision IN ('confirmed', 'dismissed', 'automatic')),
    ADD COLUMN reviewed_at timestamptz,
    ADD COLUMN reviewed_by text;          -- 'owner:ID', 'admin', 'token:ID' or 'system'

-- The open items in deadline order: the listing, the gauges and the automatic RET read only
-- these (a handful), never the whole table.
CREATE INDEX consent_event_review_idx ON consent_event (deadline_at, id) WHERE state = 'review';
