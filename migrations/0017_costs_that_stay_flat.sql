-- Costs that stay flat as history grows (issue #27; docs/DESIGN-NOTES.md "At 10 million
-- messages": which index serves which query, and its size).

-- 1. The claim reads only what is due. consent_event_due_idx (0006) walked every pending
--    event in deadline order, the ones waiting for a later attempt included: with 100,000
--    pending not due (an İYS outage: every event backing off) a claim read 100,500 pages to
--    find nothing. The outbox is now two partial indexes that together hold every pending
--    event not in a batch:
--      fresh   next_attempt_at <= created_at: never tried, or put back at once; always due.
--              Walked in deadline order, exactly as before.
--      retry   next_attempt_at > created_at: waiting for a later attempt (RETRY). Walked in
--              next_attempt_at order from the oldest, so a claim stops at the first that is
--              not due yet.
--    CLAIM (iys_push/store.py) takes at most its LIMIT from each and keeps the nearest
--    deadlines of those: its cost is bounded by the LIMIT, not by how many wait.
--    An event moves from fresh to retry when RETRY gives it a later attempt (a non-HOT update
--    that a retry already costs one index entry for). Batched events are in neither: the
--    claim never takes them, and the batch index below serves them.
--    INCLUDE (received_at, status): the compliance gauges are answered from these three
--    indexes alone (index-only scans), never from the heap.
DROP INDEX consent_event_due_idx;
CREATE INDEX consent_event_due_idx ON consent_event (deadline_at, id)
    INCLUDE (received_at, status)
    WHERE state = 'pending' AND batch_request_id IS NULL AND next_attempt_at <= created_at;
CREATE INDEX consent_event_retry_idx ON consent_event (next_attempt_at, id)
    INCLUDE (deadline_at, received_at, status)
    WHERE state = 'pending' AND batch_request_id IS NULL AND next_attempt_at > created_at;
-- the events of a batch being polled (BATCH_EVENTS, RELEASE_BATCH_EVENTS); settled ones
-- leave it (FINISH clears batch_request_id)
DROP INDEX consent_event_batch_idx;
CREATE INDEX consent_event_batch_idx ON consent_event (batch_request_id)
    INCLUDE (deadline_at, received_at, status)
    WHERE batch_request_id IS NOT NULL AND state = 'pending';

-- 2. One index per recipient instead of two. consent_event_key_idx (brand_code, recipient,
--    …, consent_date) and consent_event_brand_recipient_idx (brand_id, recipient, id) were
--    both keyed by a random number: each MO's event dirtied a random leaf page of each, and
--    after a checkpoint the first change of a page is written whole to the WAL (8 kB). At 10M
--    events both were ~640 MB. One index led by the recipient serves the per-key probes of
--    the claim and the settling (recipient, brand_code, recipient_type, type, then the
--    (received_at, id) order they compare) and the per-recipient reads by brand (the
--    recipient's few events, brand_id checked on the row): recipient history, the events
--    list filtered by recipient, the redelivery rule's "event since" probe.
DROP INDEX consent_event_key_idx;
DROP INDEX consent_event_brand_recipient_idx;
CREATE INDEX consent_event_key_idx
    ON consent_event (recipient, brand_code, recipient_type, type, received_at, id);

-- 3. A message's sender is its events' recipient: the recipient history finds a person's
--    consent messages through consent_event_key_idx, and needs the sender index only for the
--    messages that made no consent (no keyword, unknown number, review…: a small share of
--    the traffic). Indexing only those takes the second random-keyed index off the MO path
--    (inbound/api/queries.py RECIPIENT_MESSAGES).
DROP INDEX mo_message_sender_idx;
CREATE INDEX mo_message_sender_idx ON mo_message (sender) WHERE outcome <> 'consent';

-- 4. Room on each page for the pusher's updates (lease, attempts, updated_at) to stay on the
--    page (HOT: no new index entries, no random index page dirtied). Applies to pages written
--    from now on.
ALTER TABLE consent_event SET (fillfactor = 85);

-- 5. The events-per-day chart and the events list's time filter read a brand's events by
--    time: consent_event_brand_received_idx (0004) serves both; time-ordered, it appends.
--    The list of a brand's messages in id order (LIST_MESSAGES) reads mo_message by
--    destination (mo_message_destination_idx) and by the brand's events (consent_event_
--    message_idx): both append.

-- 6. Retention (inbound/retention.py) looks for events older than its period: a BRIN index
--    on received_at (events arrive in time order) finds them for a few pages of index,
--    nothing on the MO path but a summary per 128 pages.
CREATE INDEX consent_event_received_brin ON consent_event USING brin (received_at);
--    The messages that made no consent are removed sooner (a year by default): found by
--    time among those only. No query read the index of every message by time.
DROP INDEX mo_message_received_idx;
CREATE INDEX mo_message_no_consent_idx ON mo_message (received_at) WHERE outcome <> 'consent';
