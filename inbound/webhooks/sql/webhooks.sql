-- Webhooks (issue #32). The outbox is filled by triggers (migrations/0027_webhooks.sql);
-- these statements sequence it, fan it out to endpoints, claim due deliveries (SKIP LOCKED,
-- any process) and keep the endpoints. "now" always travels as a parameter so a test's
-- clock drives every decision. Scope parameters: an owner id, or NULL for the operator.

-- name: sequence_and_fan_out
-- One sequencer at a time (transaction advisory lock): new events get their brand's next
-- numbers in id order, and a delivery row for every endpoint of the event's owner that
-- wants the kind and the brand. $1 now, $2 how many events at most.
WITH locked AS (SELECT pg_try_advisory_xact_lock(hashtext('iys_webhook_sequencer')) AS ok),
batch AS (
    SELECT e.id, e.brand_id, e.owner_id, e.kind
      FROM webhook_event e, locked
     WHERE locked.ok AND e.seq IS NULL
     ORDER BY e.id
     LIMIT $2
),
numbered AS (
    SELECT b.*, coalesce(s.last, 0)
               + row_number() OVER (PARTITION BY b.brand_id ORDER BY b.id) AS seq
      FROM batch b LEFT JOIN webhook_brand_seq s USING (brand_id)
),
bumped AS (
    INSERT INTO webhook_brand_seq (brand_id, last)
    SELECT brand_id, max(seq) FROM numbered GROUP BY brand_id
    ON CONFLICT (brand_id) DO UPDATE SET last = excluded.last
),
sequenced AS (
    UPDATE webhook_event e SET seq = n.seq FROM numbered n WHERE e.id = n.id
    RETURNING e.id
),
fanned AS (
    INSERT INTO webhook_delivery (endpoint_id, event_id, next_attempt_at)
    SELECT w.id, n.id, $1
      FROM numbered n
      JOIN webhook_endpoint w ON w.owner_id = n.owner_id AND n.kind = ANY (w.events)
                             AND (w.brands IS NULL OR n.brand_id = ANY (w.brands))
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM sequenced) AS sequenced, (SELECT count(*) FROM fanned) AS fanned

-- name: claim_due
-- Due deliveries of endpoints that are not paused, oldest first, leased until $2 (a crashed
-- process's claims come back then). $1 now, $2 lease end, $3 how many.
WITH due AS (
    SELECT d.endpoint_id, d.event_id
      FROM webhook_delivery d
      JOIN webhook_endpoint w ON w.id = d.endpoint_id AND w.paused_at IS NULL
     WHERE d.state = 'pending' AND d.next_attempt_at <= $1
     ORDER BY d.next_attempt_at, d.event_id
     LIMIT $3
       FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_delivery d
   SET next_attempt_at = $2, first_attempt_at = coalesce(d.first_attempt_at, $1),
       attempts = d.attempts + 1
  FROM due, webhook_event e, webhook_endpoint w
 WHERE d.endpoint_id = due.endpoint_id AND d.event_id = due.event_id
   AND e.id = d.event_id AND w.id = d.endpoint_id
RETURNING d.endpoint_id, d.event_id, d.attempts, d.first_attempt_at,
          e.kind, e.brand_id, e.seq, e.data, e.created_at,
          w.url, w.secret, w.previous_secret, w.previous_until, w.full_recipient

-- name: delivered
-- $1 endpoint, $2 event, $3 now, $4 HTTP status
WITH d AS (
    UPDATE webhook_delivery SET state = 'delivered', delivered_at = $3, last_status = $4,
                                last_error = NULL
     WHERE endpoint_id = $1 AND event_id = $2
)
UPDATE webhook_endpoint SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL

-- name: not_delivered
-- $1 endpoint, $2 event, $3 next attempt (NULL: given up), $4 HTTP status, $5 error, $6 now,
-- $7 pause after this long failing. Answers whether this paused the endpoint.
WITH d AS (
    UPDATE webhook_delivery
       SET state = CASE WHEN $3::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
           next_attempt_at = coalesce($3, next_attempt_at), last_status = $4, last_error = $5
     WHERE endpoint_id = $1 AND event_id = $2
)
UPDATE webhook_endpoint
   SET failing_since = coalesce(failing_since, $6),
       paused_at = CASE WHEN paused_at IS NULL AND coalesce(failing_since, $6) <= $6 - $7::interval
                        THEN $6 ELSE paused_at END
 WHERE id = $1
RETURNING paused_at = $6 AS paused_now

-- name: log_attempt
INSERT INTO webhook_attempt (endpoint_id, event_id, at, latency_ms, http_status, outcome, error)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: insert_endpoint
INSERT INTO webhook_endpoint (owner_id, url, events, brands, full_recipient, description, secret)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *

-- name: endpoint
SELECT * FROM webhook_endpoint WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)

-- name: list_endpoints
SELECT * FROM webhook_endpoint WHERE ($1::bigint IS NULL OR owner_id = $1) ORDER BY id

-- name: delete_endpoint
DELETE FROM webhook_endpoint WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)
RETURNING id

-- name: rotate_secret
-- $3 the new secret, $4 until when the old one still signs
UPDATE webhook_endpoint
   SET previous_secret = secret, previous_until = $4, secret = $3, updated_at = now()
 WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)
RETURNING *

-- name: resume_endpoint
-- The owner resumes: not paused, not failing, the kept deliveries due now with three fresh
-- days each. $3 now.
WITH w AS (
    UPDATE webhook_endpoint SET paused_at = NULL, failing_since = NULL, updated_at = now()
     WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)
    RETURNING *
), d AS (
    UPDATE webhook_delivery SET next_attempt_at = $3, first_attempt_at = NULL
     WHERE endpoint_id = (SELECT id FROM w) AND state = 'pending'
)
SELECT * FROM w

-- name: replay
-- Every event of the endpoint's owner since $3 that the endpoint wants is delivered again
-- (same webhook-id), whatever happened to it before. $4 now. Answers how many.
WITH w AS (
    SELECT * FROM webhook_endpoint WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)
), chosen AS (
    SELECT w.id AS endpoint_id, e.id AS event_id
      FROM w JOIN webhook_event e ON e.owner_id = w.owner_id AND e.created_at >= $3
                                 AND e.seq IS NOT NULL AND e.kind = ANY (w.events)
                                 AND (w.brands IS NULL OR e.brand_id = ANY (w.brands))
), upserted AS (
    INSERT INTO webhook_delivery (endpoint_id, event_id, next_attempt_at)
    SELECT endpoint_id, event_id, $4 FROM chosen
    ON CONFLICT (endpoint_id, event_id) DO UPDATE
       SET state = 'pending', next_attempt_at = $4, first_attempt_at = NULL, attempts = 0,
           delivered_at = NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM w) AS found, (SELECT count(*) FROM upserted) AS replayed

-- name: attempts
-- The endpoint's delivery log, newest first. $3 cursor (attempt id), $4 limit.
SELECT a.id, a.event_id, e.kind, e.brand_id, e.seq, a.at, a.latency_ms, a.http_status,
       a.outcome, a.error
  FROM webhook_attempt a
  JOIN webhook_endpoint w ON w.id = a.endpoint_id AND ($2::bigint IS NULL OR w.owner_id = $2)
  LEFT JOIN webhook_event e ON e.id = a.event_id
 WHERE a.endpoint_id = $1 AND ($3::bigint IS NULL OR a.id < $3)
 ORDER BY a.id DESC
 LIMIT $4

-- name: owner_brands
SELECT id FROM brand WHERE owner_id = $1

-- name: paused_count
SELECT count(*) FROM webhook_endpoint WHERE paused_at IS NOT NULL

-- name: sample_target
SELECT w.*, (SELECT min(id) FROM brand b WHERE b.owner_id = w.owner_id
                AND (w.brands IS NULL OR b.id = ANY (w.brands))) AS sample_brand
  FROM webhook_endpoint w WHERE w.id = $1

-- name: pending_count
-- Deliveries waiting (paused endpoints' included) and the age of the oldest event among them.
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM $1 - min(e.created_at)), 0) AS oldest_seconds
  FROM webhook_delivery d JOIN webhook_event e ON e.id = d.event_id
 WHERE d.state = 'pending'
