-- The İYS side's SQL (package iys_push): token, shared rate limit, attempts, the outbox
-- (claim, finish, retry, batches), the local view of İYS state, the puller, the gauges.
-- Loaded once by inbound.sqlfile; values always travel as parameters.

-- == token (iys_token: one row per account, its row lock makes one fetcher at a time) ==

-- name: ensure_token_row
INSERT INTO iys_token (account) VALUES ($1) ON CONFLICT (account) DO NOTHING

-- name: token_for_update
SELECT * FROM iys_token WHERE account = $1 FOR UPDATE

-- name: save_token
UPDATE iys_token
   SET access_token = $2, access_expires_at = $3, refresh_token = $4, refresh_expires_at = $5,
       updated_at = now()
 WHERE account = $1

-- name: halt_token
UPDATE iys_token SET halted_until = $2, updated_at = now() WHERE account = $1

-- name: forget_access
-- after a 401: forget that token only (another process may already have stored a newer one)
UPDATE iys_token SET access_token = NULL, access_expires_at = NULL, updated_at = now()
 WHERE account = $1 AND access_token = $2

-- == shared rate limit (iys_rate: a token bucket per account) ==

-- name: take_rate_token
-- Refill by elapsed time up to $2 (the depth), then take one token if at least $4 are there:
-- 1 for a request sent now; 0 for a bulk import's request (ratelimit.LOW_PRIORITY), which
-- reserves the next token up to one interval before it is there and is sent when it is
-- (tokens below 0: a reservation; the caller waits -tokens / rate). tokens: what is left,
-- NULL when none was taken; then wait: the seconds until $4 are there, so that a waiter
-- comes back then (a bucket one token deep keeps nothing for a late waiter: polling lost
-- ~15-20 % of the budget). clock_timestamp(), not now(): now() is the transaction's
-- start. The SELECT reads the row as it was before this statement.
WITH taken AS (
    INSERT INTO iys_rate AS r (account, tokens, updated_at)
    VALUES ($1, $2 - 1, clock_timestamp())
    ON CONFLICT (account) DO UPDATE
       SET tokens = LEAST($2, r.tokens
                              + EXTRACT(EPOCH FROM clock_timestamp() - r.updated_at) * $3) - 1,
           updated_at = clock_timestamp()
     WHERE LEAST($2, r.tokens + EXTRACT(EPOCH FROM clock_timestamp() - r.updated_at) * $3)
           >= $4
    RETURNING tokens
)
SELECT (SELECT tokens FROM taken) AS tokens,
       (SELECT ($4 - LEAST($2, r.tokens
                               + EXTRACT(EPOCH FROM clock_timestamp() - r.updated_at) * $3))
               / $3
          FROM iys_rate r WHERE r.account = $1) AS wait

-- == attempts (the evidence) ==

-- name: insert_attempt
INSERT INTO iys_attempt (event_id, started_at, latency_ms, method, path, request, http_status,
                         response, code, outcome, egress, kind)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)

-- == the outbox ==

-- name: claim
-- The oldest pending event of each key is its only candidate (one in flight per key, in the
-- order received); among due candidates the nearest deadline goes first. Candidates come
-- from the outbox's two partial indexes (migrations/0017): never tried, in deadline order,
-- and waiting for a retry, in next-attempt order (the walk stops at the first not due), so
-- a claim reads what is due, not what waits. Each claimed row comes with our view of the key
-- in İYS, whether a later event of the key was accepted already (then this one is
-- superseded: re-queued after a failure, for example), and the (received_at epoch, id) of the
-- latest earlier pending or accepted event of the key with the same status (same_before) and
-- with the other status (other_before): the event immediately before it has its status when
-- same_before is the later one (retry.before_sending: a duplicate). Events in review or
-- dismissed, and settled ones, are not "the event before". max() of an array, not
-- ORDER BY … LIMIT 1: no sort in the plan.
WITH fresh AS MATERIALIZED (
    -- never tried (always due): in deadline order (consent_event_due_idx)
    SELECT e.id, e.deadline_at, e.brand_code, e.recipient, e.recipient_type, e.type
      FROM consent_event e
     WHERE e.state = 'pending' AND e.batch_request_id IS NULL
        AND e.next_attempt_at <= e.created_at
        AND (e.lease_until IS NULL OR e.lease_until < now())
        -- the head of its key: no older pending event of the same key (an index probe each,
        -- so the plan stays linear whatever the statistics say)
        AND NOT EXISTS (SELECT 1 FROM consent_event o
                         WHERE (o.recipient, o.brand_code, o.recipient_type, o.type)
                             = (e.recipient, e.brand_code, e.recipient_type, e.type)
                           AND o.state = 'pending'
                           AND (o.received_at, o.id) < (e.received_at, e.id))
      ORDER BY e.deadline_at, e.id
      LIMIT $1
        FOR UPDATE OF e SKIP LOCKED
), retried AS MATERIALIZED (
    -- waiting for a later attempt: only the due ones, oldest attempt first, so the walk of
    -- consent_event_retry_idx stops at the first not due yet however many wait
    SELECT e.id, e.deadline_at, e.brand_code, e.recipient, e.recipient_type, e.type
      FROM consent_event e
     WHERE e.state = 'pending' AND e.batch_request_id IS NULL
        AND e.next_attempt_at > e.created_at AND e.next_attempt_at <= now()
        AND (e.lease_until IS NULL OR e.lease_until < now())
        AND NOT EXISTS (SELECT 1 FROM consent_event o
                         WHERE (o.recipient, o.brand_code, o.recipient_type, o.type)
                             = (e.recipient, e.brand_code, e.recipient_type, e.type)
                           AND o.state = 'pending'
                           AND (o.received_at, o.id) < (e.received_at, e.id))
      ORDER BY e.next_attempt_at, e.id
      LIMIT $1
        FOR UPDATE OF e SKIP LOCKED
), due AS (
    -- the nearest deadlines of at most twice the LIMIT candidates
    SELECT c.id, k.status AS view_status, k.consent_date AS view_date, k.origin AS view_origin
      FROM (SELECT * FROM fresh UNION ALL SELECT * FROM retried
             ORDER BY deadline_at, id LIMIT $1) c
      LEFT JOIN iys_key_state k
             ON (k.brand_code, k.recipient, k.recipient_type, k.type)
              = (c.brand_code, c.recipient, c.recipient_type, c.type)
), claimed AS (
    UPDATE consent_event e
       SET lease_owner = $2, lease_until = now() + make_interval(secs => $3),
           attempts = e.attempts + 1, updated_at = now()
      FROM due
     WHERE e.id = due.id
       -- the same condition as an index condition: without it the planner hashes the whole
       -- table to join 1,000 rows (44 of 80 ms at 100,000 pending)
       AND e.id = ANY(ARRAY(SELECT id FROM due))
    RETURNING e AS event, due.view_status, due.view_date, due.view_origin
)
-- the row with its checks (migrations/0035: iys_claimed_row, shared with claim_import)
SELECT r.* FROM claimed c,
       iys_claimed_row(c.event, c.view_status, c.view_date, c.view_origin) r

-- name: claim_plan
-- The plans of claim and due_count must not depend on statistics. A RET wave makes the
-- table's pending share grow far faster than autoanalyze follows (by default it waits for a
-- tenth of the table to change); with statistics that say "hardly anything is pending" the
-- planner read, probed and sorted every pending event for a claim (1.2 s at 180,000 pending,
-- a claim a second: a whole core, measured in the MO benchmark) instead of walking
-- consent_event_due_idx in order and stopping at the LIMIT (4-11 ms), and due_count hashed
-- every pending event to anti-join them (15 ms at 20,000, growing with the wave) instead of
-- probing the key index for the first 1,001 (4 ms). Without sorts, hash and merge joins, the
-- in-order walk with a probe per row is the only plan left. SET LOCAL: for the transaction
-- only (see claim_transaction()).
SET LOCAL enable_sort = off; SET LOCAL enable_incremental_sort = off;
SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off

-- name: due_count
-- how many events a claim could take now (heads of their keys, as claim), counted up to $1:
-- later events of a key whose head is in a batch must not keep the pusher on the batch path
-- (run it with due_count(), planned as claim_plan says)
SELECT least($1, (SELECT count(*) FROM (
    SELECT 1 FROM consent_event e
     WHERE e.state = 'pending' AND e.batch_request_id IS NULL
       AND e.next_attempt_at <= e.created_at
       AND (e.lease_until IS NULL OR e.lease_until < now())
       AND NOT EXISTS (SELECT 1 FROM consent_event o
                        WHERE (o.recipient, o.brand_code, o.recipient_type, o.type)
                            = (e.recipient, e.brand_code, e.recipient_type, e.type)
                          AND o.state = 'pending' AND (o.received_at, o.id) < (e.received_at, e.id))
     LIMIT $1) fresh) + (SELECT count(*) FROM (
    SELECT 1 FROM consent_event e
     WHERE e.state = 'pending' AND e.batch_request_id IS NULL
       AND e.next_attempt_at > e.created_at AND e.next_attempt_at <= now()
       AND (e.lease_until IS NULL OR e.lease_until < now())
       AND NOT EXISTS (SELECT 1 FROM consent_event o
                        WHERE (o.recipient, o.brand_code, o.recipient_type, o.type)
                            = (e.recipient, e.brand_code, e.recipient_type, e.type)
                          AND o.state = 'pending' AND (o.received_at, o.id) < (e.received_at, e.id))
     LIMIT $1) retried))

-- name: finish
-- finish and retry take column arrays (one statement for all the events of a round, instead
-- of one per event: per-statement work in PostgreSQL was the push side's main cost)
UPDATE consent_event e
   SET state = u.state, iys_transaction_id = u.transaction_id,
       iys_creation_date = u.creation_date, last_error_code = u.code, last_error = u.message,
       consent_date = COALESCE(u.consent_date, e.consent_date), lease_owner = NULL,
       lease_until = NULL, batch_request_id = NULL, batch_index = NULL, updated_at = now()
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::timestamptz[])
       AS u(id, state, transaction_id, creation_date, code, message, consent_date)
 WHERE e.id = u.id AND e.state = 'pending'

-- name: retry
-- back to the queue (also out of a batch); the consent date may have been moved forward.
-- An import's event goes back to its import's lane (parked, migrations/0026), not to the
-- live queue.
UPDATE consent_event e
   SET next_attempt_at = u.next_attempt_at, last_error_code = u.code, last_error = u.message,
       consent_date = COALESCE(u.consent_date, e.consent_date), lease_owner = NULL,
       lease_until = NULL, batch_request_id = 'import:' || e.import_id, batch_index = NULL,
       updated_at = now()
  FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::timestamptz[])
       AS u(id, next_attempt_at, code, message, consent_date)
 WHERE e.id = u.id AND e.state = 'pending'

-- name: settle_run
-- Once an event is settled with İYS holding its status (accepted, not_needed, duplicate):
-- the pending events of its key right after it with the same status (up to the first one
-- with the other status) are duplicates of it, settled at once without a request. Thousands
-- of identical RETs from one number queued behind the first cost one statement, not a
-- status query each. Not after superseded or failed: the later ones may be the newer word.
-- A leased or batched event is left alone (another worker is sending it).
WITH head AS (
    SELECT h.id, h.brand_code, h.recipient, h.recipient_type, h.type, h.status, h.received_at,
           (SELECT min(d.received_at) FROM consent_event d
             WHERE (d.brand_code, d.recipient, d.recipient_type, d.type)
                 = (h.brand_code, h.recipient, h.recipient_type, h.type)
               AND d.state = 'pending' AND d.status <> h.status
               AND (d.received_at, d.id) > (h.received_at, h.id)) AS other_at
      FROM consent_event h
     WHERE h.id = ANY($1::bigint[])
), run AS (
    SELECT f.id, head.id AS head_id
      FROM head
      JOIN consent_event f
        ON (f.brand_code, f.recipient, f.recipient_type, f.type)
         = (head.brand_code, head.recipient, head.recipient_type, head.type)
     WHERE f.state = 'pending' AND f.status = head.status AND f.batch_request_id IS NULL
       AND (f.lease_until IS NULL OR f.lease_until < now())
       AND (f.received_at, f.id) > (head.received_at, head.id)
       AND (head.other_at IS NULL OR f.received_at < head.other_at)
)
UPDATE consent_event e
   SET state = 'duplicate', last_error_code = 'DUPLICATE',
       last_error = 'the same status as event ' || run.head_id
                    || ' before it for this key: nothing new to tell İYS',
       lease_owner = NULL, lease_until = NULL, updated_at = now()
  FROM run
 WHERE e.id = run.id AND e.state = 'pending'
RETURNING e.id, e.brand_id, e.status

-- name: mark_batched
UPDATE consent_event e
   SET batch_request_id = $1, batch_index = u.idx, consent_date = u.consent_date,
       lease_owner = NULL, lease_until = NULL, updated_at = now()
  FROM unnest($2::bigint[], $3::int[], $4::timestamptz[]) AS u(id, idx, consent_date)
 WHERE e.id = u.id

-- name: insert_iys_batch
INSERT INTO iys_batch (request_id, iys_code, brand_code, items, next_poll_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))

-- name: claim_batches
UPDATE iys_batch b
   SET lease_owner = $1, lease_until = now() + make_interval(secs => $2), polls = b.polls + 1
 WHERE request_id IN (SELECT request_id FROM iys_batch
                       WHERE done_at IS NULL AND next_poll_at <= now()
                         AND (lease_until IS NULL OR lease_until < now())
                       ORDER BY next_poll_at LIMIT $3
                         FOR UPDATE SKIP LOCKED)
RETURNING b.*

-- name: batch_events
SELECT id, brand_id, brand_code, recipient, recipient_type, type, status, source,
       consent_date, received_at, deadline_at, attempts, batch_index
  FROM consent_event
 WHERE batch_request_id = $1 AND state = 'pending'

-- name: repoll_batch
UPDATE iys_batch SET next_poll_at = now() + make_interval(secs => $2), lease_owner = NULL,
       lease_until = NULL
 WHERE request_id = $1

-- name: done_batch
UPDATE iys_batch SET done_at = now(), lease_owner = NULL, lease_until = NULL
 WHERE request_id = $1

-- name: release_batch_events
-- a batch whose results never come: its events go back to the single path
UPDATE consent_event
   SET batch_request_id = 'import:' || import_id, batch_index = NULL, next_attempt_at = now(),
       last_error = 'batch result did not come; sent again', updated_at = now()
 WHERE batch_request_id = $1 AND state = 'pending'

-- name: requeue_failed
UPDATE consent_event
   SET state = 'pending', next_attempt_at = now(), last_error_code = NULL, last_error = NULL,
       lease_owner = NULL, lease_until = NULL, updated_at = now()
 WHERE state = 'failed'
   AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
   AND ($2::text IS NULL OR brand_id = $2)

-- name: notify_outbox
SELECT pg_notify('iys_outbox', '')

-- == the local view of İYS state ==

-- name: upsert_key_state
-- An older movement never overwrites a newer one (a pulled change may be older than our push).
-- Our accepted pushes carry İYS's transaction id and creation date (the mirror's columns);
-- status views have none. Column arrays, at most one row per key (ON CONFLICT cannot touch a row twice in one
-- statement): see key_state_columns. A row never replaces a view with a later consent date.
INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status, consent_date,
                           source, origin, transaction_id, creation_date, updated_at)
SELECT *, now()
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
              $7::text[], $8::text[], $9::text[], $10::timestamptz[])
ON CONFLICT (brand_code, recipient, recipient_type, type) DO UPDATE
   SET status = EXCLUDED.status, consent_date = EXCLUDED.consent_date,
       source = EXCLUDED.source, origin = EXCLUDED.origin,
       transaction_id = EXCLUDED.transaction_id, creation_date = EXCLUDED.creation_date,
       updated_at = now()
 WHERE iys_key_state.consent_date IS NULL OR EXCLUDED.consent_date IS NULL
    OR EXCLUDED.consent_date >= iys_key_state.consent_date

-- name: forget_key_state
-- after H178: İYS holds a movement our view did not know; the next event of the key asks
DELETE FROM iys_key_state k
 USING unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
       AS u(brand_code, recipient, recipient_type, type)
 WHERE (k.brand_code, k.recipient, k.recipient_type, k.type)
     = (u.brand_code, u.recipient, u.recipient_type, u.type)

-- == puller ==

-- name: brand_accounts
SELECT DISTINCT iys_code, brand_code FROM brand ORDER BY brand_code

-- (the cursors and the movements: iys_push/sql/mirror.sql)

-- == gauges ==

-- name: compliance
-- From the tally (the backlog: migration 0029) and the clock of the pending events' marks
-- (migration 0037), never the events: counts past
-- a mark are the sums of its rows before the current minute (after iys_clock_compact(): the
-- -infinity row and the deltas since), the oldest pending and the nearest RET deadline the
-- first minute whose deltas do not cancel out. Index range scans of
-- consent_event_clock_mark_idx over a handful of rows, whatever the backlog. Minute
-- resolution: an event counts as past its mark from the minute after it.
WITH now_minute AS MATERIALIZED (SELECT date_trunc('minute', now()) AS at),
past AS (
    SELECT c.mark, sum(c.n) AS n FROM consent_event_clock c, now_minute m
     WHERE c.mark IN ('half', 'ninety', 'deadline') AND c.at < m.at
     GROUP BY c.mark)
SELECT (SELECT coalesce(sum(n), 0) FROM consent_event_tally WHERE state = 'pending')::bigint
           AS backlog,
       EXTRACT(EPOCH FROM now() - (SELECT at FROM consent_event_clock WHERE mark = 'received'
                                    GROUP BY at HAVING sum(n) <> 0 ORDER BY at LIMIT 1))
           AS oldest_age,
       EXTRACT(EPOCH FROM (SELECT at FROM consent_event_clock WHERE mark = 'ret_deadline'
                            GROUP BY at HAVING sum(n) <> 0 ORDER BY at LIMIT 1) - now())
           AS nearest_ret_deadline,
       coalesce((SELECT n FROM past WHERE mark = 'half'), 0)::bigint AS past_half,
       coalesce((SELECT n FROM past WHERE mark = 'ninety'), 0)::bigint AS past_ninety,
       coalesce((SELECT n FROM past WHERE mark = 'deadline'), 0)::bigint AS overdue

-- name: compact_clock
-- fold the clock's deltas (migration 0037); returns how many rows were folded
SELECT iys_clock_compact()

-- name: failed_count
-- from the tally (migration 0029), not the events: one index range of a few rows a day
SELECT coalesce(sum(n), 0)::bigint FROM consent_event_tally WHERE state = 'failed'

-- name: compact_tally
-- fold the tally's deltas (migration 0029); returns how many rows were folded
SELECT iys_tally_compact()

-- name: success_ratio_24h
-- İYS's success ratio of one egress label over 24 hours, from every process's attempts: an
-- index-only range scan of iys_attempt_egress_window_idx (migration 0013). $2: the HTTP
-- statuses İYS counts as failures. Unanswered requests are in neither count.
SELECT count(*) AS answered, count(*) FILTER (WHERE http_status = ANY($2::int[])) AS refused
  FROM iys_attempt
 WHERE egress = $1 AND started_at > now() - interval '24 hours' AND http_status IS NOT NULL

