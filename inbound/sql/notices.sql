-- E-mail notices (issue #32 item 6; inbound/notices.py). $1 is always the subscription's
-- owner; "new" means after the subscription was made ($2) and not yet in notice_sent.

-- name: sender_try_lock
-- One sender at a time in every process (session-level advisory lock; $1 notices.LOCK).
SELECT pg_try_advisory_lock($1)

-- name: sender_unlock
SELECT pg_advisory_unlock($1)

-- name: subscriptions
SELECT * FROM notice_subscription ORDER BY id

-- name: subscribe
INSERT INTO notice_subscription (owner_id, email, digest, immediate)
VALUES ($1, $2, $3, $4)
ON CONFLICT (owner_id, email) DO UPDATE SET digest = excluded.digest,
                                            immediate = excluded.immediate
RETURNING *

-- name: unsubscribe
DELETE FROM notice_subscription WHERE owner_id = $1 AND email = $2 RETURNING id

-- name: immediate_items
-- What an owner should hear of now: RETs within 24 h of their deadline and not in İYS yet,
-- review items waiting, events refused since the subscription, and reconciliation changes
-- of the owner's brands' keys since it. $3 now. Item keys are stable (dedupe).
SELECT 'ret_deadline' AS kind, 'ret_deadline:' || e.id AS item, e.brand_id, e.recipient,
       e.deadline_at AS at
  FROM consent_event e JOIN brand b ON b.id = e.brand_id AND b.owner_id = $1
 WHERE e.state = 'pending' AND e.status = 'RET' AND e.deadline_at < $3::timestamptz + interval '24 hours'
UNION ALL
SELECT 'review', 'review:' || e.id, e.brand_id, e.recipient, e.deadline_at
  FROM consent_event e JOIN brand b ON b.id = e.brand_id AND b.owner_id = $1
 WHERE e.state = 'review'
UNION ALL
SELECT 'failed', 'failed:' || e.id, e.brand_id, e.recipient, e.updated_at
  FROM consent_event e JOIN brand b ON b.id = e.brand_id AND b.owner_id = $1
 WHERE e.state = 'failed' AND e.updated_at >= $2
UNION ALL
SELECT 'drift', 'drift:' || k.brand_code || ':' || k.recipient || ':' || k.type || ':'
                || extract(epoch FROM k.updated_at)::bigint,
       b.id, k.recipient, k.updated_at
  FROM iys_key_state k JOIN brand b ON b.brand_code = k.brand_code AND b.owner_id = $1
 WHERE k.origin = 'reconcile' AND k.updated_at >= $2

-- name: database_now
-- The database's clock, as immediate_items' $3 for a caller without a clock of its own
-- (retention_tables keeps the items this query would still find).
SELECT now()

-- name: already_sent
SELECT item FROM notice_sent WHERE subscription_id = $1 AND item = ANY ($2::text[])

-- name: mark_sent
INSERT INTO notice_sent (subscription_id, item, sent_at)
SELECT $1, unnest($2::text[]), $3 ON CONFLICT DO NOTHING

-- name: digest_counts
-- The last day of an owner's brands: events by state, reviews waiting, RETs near deadline.
SELECT e.brand_id,
       count(*) FILTER (WHERE e.created_at >= $2) AS received,
       count(*) FILTER (WHERE e.state = 'accepted' AND e.updated_at >= $2) AS accepted,
       count(*) FILTER (WHERE e.state = 'failed' AND e.updated_at >= $2) AS failed,
       count(*) FILTER (WHERE e.state = 'pending') AS pending,
       count(*) FILTER (WHERE e.state = 'review') AS review
  FROM consent_event e JOIN brand b ON b.id = e.brand_id AND b.owner_id = $1
 WHERE e.created_at >= $2 OR e.updated_at >= $2 OR e.state IN ('pending', 'review')
 GROUP BY e.brand_id ORDER BY e.brand_id
