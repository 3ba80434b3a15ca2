-- The pusher's import lane (issue #31): bulk-import events, parked with
-- batch_request_id = 'import:<id>' (migrations/0026), sent through the batch endpoint with
-- what live traffic leaves of the request budget, round-robin between owners.

-- name: active_imports
-- the imports with events to send, oldest first per owner (NULL owner: the operator's)
SELECT id, COALESCE(owner_id, 0) AS owner FROM consent_import
 WHERE state = 'pushing' AND finished_at IS NULL
 ORDER BY COALESCE(owner_id, 0), id

-- name: any_active_import
SELECT EXISTS (SELECT 1 FROM consent_import WHERE state = 'pushing' AND finished_at IS NULL)

-- name: claim_import
-- Up to $2 parked events of import $1 that are due and the head of their key (no older
-- pending event of the key: a key's movements go in order, so one per key per list), leased
-- to $3 for $4 seconds, with the same columns as the live claim (iys_push.sql: claim).
WITH due AS MATERIALIZED (
    SELECT e.id, k.status AS view_status, k.consent_date AS view_date, k.origin AS view_origin
      FROM consent_event e
      LEFT JOIN iys_key_state k
             ON (k.brand_code, k.recipient, k.recipient_type, k.type)
              = (e.brand_code, e.recipient, e.recipient_type, e.type)
     WHERE e.batch_request_id = 'import:' || $1 AND e.state = 'pending'
       AND e.next_attempt_at <= now()
       AND (e.lease_until IS NULL OR e.lease_until < now())
       AND NOT EXISTS (SELECT 1 FROM consent_event o
                        WHERE (o.recipient, o.brand_code, o.recipient_type, o.type)
                            = (e.recipient, e.brand_code, e.recipient_type, e.type)
                          AND o.state = 'pending'
                          AND (o.received_at, o.id) < (e.received_at, e.id))
     LIMIT $2
       FOR UPDATE OF e SKIP LOCKED
), claimed AS (
    UPDATE consent_event e
       SET lease_owner = $3, lease_until = now() + make_interval(secs => $4),
           attempts = e.attempts + 1, updated_at = now()
      FROM due
     WHERE e.id = due.id AND e.id = ANY(ARRAY(SELECT id FROM due))
    RETURNING e AS event, due.view_status, due.view_date, due.view_origin
)
SELECT r.* FROM claimed c,
       iys_claimed_row(c.event, c.view_status, c.view_date, c.view_origin) r

-- name: claim_import_plan
-- claim_import and finish_imports never read the table in order (SET LOCAL: their
-- transaction only). Once ANALYZE has seen a million parked rows, a sequential scan (or a
-- merge anti-join along the key index) "finds 1,000 soon", yet it wades through every row
-- already sent before them (measured: the share of the budget fell from 100 % to 58 %
-- between bench runs as autoanalyze came); the parked rows' index is the one way in. Not
-- claim_plan's settings: without hash joins the lease UPDATE joined its 1,000 rows by a
-- nested loop over the 1,000 (60 ms).
SET LOCAL enable_seqscan = off; SET LOCAL enable_mergejoin = off

-- name: promote_blockers
-- A live event (an SMS RET, an API consent) waiting behind a parked import event of its
-- key: the import event leaves the import lane for the live queue, so the live one follows
-- it within seconds instead of waiting for the import's turn. Walks the live events not
-- yet sent (a handful, unless a RET wave is on; then at most $1 of each kind), through the
-- outbox's two partial indexes (never tried, waiting for a retry: migrations/0017). With
-- one "pending, not batched" condition instead, no index matched it and each live round
-- read the whole table (380-570 ms at 1,000,000 import rows, measured).
UPDATE consent_event i
   SET batch_request_id = NULL, updated_at = now()
 WHERE i.id IN (
    SELECT imp.id
      FROM ((SELECT l.recipient, l.brand_code, l.recipient_type, l.type, l.received_at, l.id
               FROM consent_event l
              WHERE l.state = 'pending' AND l.batch_request_id IS NULL
                AND l.next_attempt_at <= l.created_at AND l.import_id IS NULL
              LIMIT $1)
            UNION ALL
            (SELECT l.recipient, l.brand_code, l.recipient_type, l.type, l.received_at, l.id
               FROM consent_event l
              WHERE l.state = 'pending' AND l.batch_request_id IS NULL
                AND l.next_attempt_at > l.created_at AND l.import_id IS NULL
              LIMIT $1)) l
      JOIN consent_event imp
        ON (imp.recipient, imp.brand_code, imp.recipient_type, imp.type)
         = (l.recipient, l.brand_code, l.recipient_type, l.type)
       AND imp.state = 'pending' AND imp.import_id IS NOT NULL
       AND imp.batch_request_id = 'import:' || imp.import_id
       AND (imp.received_at, imp.id) < (l.received_at, l.id))
   AND (i.lease_until IS NULL OR i.lease_until < now())
RETURNING i.id

-- name: finish_imports
-- an import (pushing or cancelled) whose events are all settled is finished. A scalar
-- subquery, not NOT EXISTS: the planner never turns it into a join, so it stays one probe
-- of consent_event_import_idx an import (NOT EXISTS became a hash anti-join over every
-- pending event once ANALYZE had seen a million: 340-460 ms before each list's claim)
UPDATE consent_import c
   SET state = CASE WHEN c.state = 'cancelled' THEN 'cancelled' ELSE 'finished' END,
       finished_at = now(), updated_at = now()
 WHERE c.state IN ('pushing', 'cancelled') AND c.finished_at IS NULL
   AND (SELECT e.id FROM consent_event e
         WHERE e.import_id = c.id AND e.state = 'pending' LIMIT 1) IS NULL
RETURNING c.id

-- name: fail_stale
-- an import whose storing stopped (the process died): its transaction rolled back, so
-- nothing of it is stored; it says so
UPDATE consent_import
   SET state = 'failed', finished_at = now(), updated_at = now(),
       error = 'interrupted while it was being stored (the process stopped): nothing of it '
               || 'was stored; upload the file again'
 WHERE state = 'storing' AND updated_at < now() - make_interval(secs => $1)
