-- The overview page (inbound/web/pages_overview.py): a brand's morning view. Every statement
-- is bounded: a time range on consent_event_brand_received_idx (brand_id, received_at), a
-- partial index walked in order with a LIMIT, or mo_message's destination/received indexes.

-- name: totals
-- ONAY and RET by channel (type) and source: today ($2 on), last 7 days ($3 on), last 30 days
-- ($4 on). Review items, dismissed ones and duplicates are not consents.
SELECT e.status, e.type, e.source,
       count(*) FILTER (WHERE e.received_at >= $2) AS today,
       count(*) FILTER (WHERE e.received_at >= $3) AS week,
       count(*) AS month
  FROM consent_event e
 WHERE e.brand_id = $1 AND e.received_at >= $4
   AND e.state NOT IN ('review', 'dismissed', 'duplicate')
 GROUP BY 1, 2, 3
 ORDER BY 1, 2, 3

-- name: health
-- İYS health over the events received since $2: accepted and failed, and the last accept.
SELECT count(*) FILTER (WHERE e.state = 'accepted') AS accepted,
       count(*) FILTER (WHERE e.state = 'failed') AS failed,
       max(e.updated_at) FILTER (WHERE e.state = 'accepted') AS last_accepted
  FROM consent_event e
 WHERE e.brand_id = $1 AND e.received_at >= $2

-- name: pending_rets
-- Pending RETs, the nearest deadline first (consent_event_due_idx: pending in deadline order).
SELECT e.id, e.recipient, e.type, e.source, e.received_at, e.deadline_at
  FROM consent_event e
 WHERE e.state = 'pending' AND e.brand_id = $1 AND e.status = 'RET'
 ORDER BY e.deadline_at, e.id
 LIMIT $2

-- name: failed
-- Events İYS refused or that ran out of time: a person has to look (consent_event_failed_idx).
SELECT e.id, e.recipient, e.status, e.type, e.received_at, e.updated_at, e.last_error_code,
       e.last_error
  FROM consent_event e
 WHERE e.state = 'failed' AND e.brand_id = $1
 ORDER BY e.id DESC
 LIMIT $2

-- name: unmatched_dedicated
-- Messages to the brand's own numbers ($1: every spelling) that made no consent, since $2.
SELECT m.id, m.received_at, m.sender, m.destination_addr, m.text, m.normalized, m.outcome,
       m.reason
  FROM mo_message m
 WHERE m.destination_addr = ANY($1::text[]) AND m.received_at >= $2
   AND m.outcome NOT IN ('consent', 'needs_review', 'not_text')
 ORDER BY m.id DESC
 LIMIT $3

-- name: unmatched_shared
-- Messages to the shared numbers the brand answers on ($1) that named no brand the matcher
-- could act on, newest first, at most $3 since $2; the page keeps only those that name
-- this brand (its name or an alias as whole words).
SELECT m.id, m.received_at, m.sender, m.destination_addr, m.text, m.normalized, m.outcome,
       m.reason
  FROM mo_message m
 WHERE m.destination_addr = ANY($1::text[]) AND m.received_at >= $2
   AND m.outcome IN ('no_keyword', 'ambiguous', 'unknown_brand')
 ORDER BY m.received_at DESC
 LIMIT $3
