-- The brand-owner API's SQL (inbound/api). Optional filters are written as
-- ($n::type IS NULL OR column = $n) so one fixed statement serves every combination of
-- filters; "scope" parameters are the caller's owner id, or NULL for the operator (who sees
-- everything). Loaded once by inbound.sqlfile; values always travel as parameters.

-- name: token_by_digest
UPDATE api_token SET last_used_at = now()
 WHERE token_hash = $1 AND revoked_at IS NULL
RETURNING id, owner_id, is_admin, role

-- name: insert_token
INSERT INTO api_token (owner_id, is_admin, name, token_hash, role) VALUES ($1, $2, $3, $4, $5)
RETURNING id, owner_id, is_admin, name, created_at, revoked_at, last_used_at, role

-- name: revoke_token
UPDATE api_token SET revoked_at = now()
 WHERE id = $1 AND revoked_at IS NULL AND ($2::bigint IS NULL OR owner_id = $2)
RETURNING id

-- name: token
SELECT id, owner_id, is_admin, name, created_at, revoked_at, last_used_at, role
  FROM api_token WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)

-- name: list_tokens
SELECT id, owner_id, is_admin, name, created_at, revoked_at, last_used_at, role
  FROM api_token WHERE ($1::bigint IS NULL OR owner_id = $1) ORDER BY id

-- name: insert_owner
INSERT INTO owner (name, email) VALUES ($1, $2) RETURNING id, name, email, created_at

-- name: owner
SELECT id, name, email, created_at FROM owner WHERE id = $1

-- name: list_owners
SELECT id, name, email, created_at FROM owner ORDER BY id

-- name: delete_owner
DELETE FROM owner WHERE id = $1 RETURNING id

-- name: config_lock
-- one configuration change at a time, so each is validated against what it will replace
SELECT pg_advisory_xact_lock(1175000006)

-- name: brand_owners
SELECT id, owner_id FROM brand

-- name: brand_owner_for_update
SELECT owner_id FROM brand WHERE id = $1 FOR UPDATE

-- name: set_brand_owner
UPDATE brand SET owner_id = $2, updated_at = now() WHERE id = $1

-- name: brand_visible
SELECT 1 FROM brand WHERE id = $1 AND ($2::bigint IS NULL OR owner_id = $2)

-- name: insert_brand
INSERT INTO brand (id, name, aliases, iys_code, brand_code, settings, owner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: update_brand
UPDATE brand SET name = $2, aliases = $3, iys_code = $4, brand_code = $5, settings = $6,
                 owner_id = $7, updated_at = now()
 WHERE id = $1

-- name: brand_has_events
SELECT EXISTS (SELECT 1 FROM consent_event WHERE brand_id = $1)

-- name: delete_brand
DELETE FROM brand WHERE id = $1

-- name: update_number
UPDATE number SET shared = $2, brand_id = $3, settings = $4 WHERE msisdn = $1

-- name: delete_number
DELETE FROM number WHERE msisdn = $1

-- name: number_links
SELECT msisdn, link FROM number_link ORDER BY msisdn, link

-- name: delete_number_links
DELETE FROM number_link WHERE msisdn = $1

-- name: insert_number_links
INSERT INTO number_link (msisdn, link) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING

-- name: insert_audit
INSERT INTO config_audit (actor_token_id, actor_owner_id, actor_admin, action, resource,
                          resource_id, owner_ids, before, after, actor_via, actor_user_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id

-- name: list_audit
SELECT id, at, actor_token_id, actor_owner_id, actor_admin, actor_via, action, resource,
       resource_id, before, after
  FROM config_audit
 WHERE ($1::bigint IS NULL OR $1 = ANY(owner_ids))
   AND ($2::bigint IS NULL OR id < $2)
   AND ($3::text IS NULL OR resource = $3)
   AND ($4::text IS NULL OR resource_id = $4)
 ORDER BY id DESC
 LIMIT $5

-- name: dedicated_numbers
SELECT msisdn FROM number WHERE brand_id = $1

-- name: list_messages
-- A brand's messages: those that produced one of its events, and everything sent to one of
-- its own (dedicated) numbers whatever the outcome ($8: every spelling of those numbers).
-- OFFSET 0 keeps the EXISTS a probe of consent_event_message_idx per message walked (newest
-- first, up to the LIMIT): without it PostgreSQL may hash every event of the brand first.
SELECT m.id, m.link, m.received_at, m.completed_at, m.sender, m.destination_addr, m.text,
       m.normalized, m.outcome, m.reason
  FROM mo_message m
 WHERE (EXISTS (SELECT 1 FROM consent_event e WHERE e.message_id = m.id AND e.brand_id = $1
                 OFFSET 0)
        OR m.destination_addr = ANY($8::text[]))
   AND ($2::bigint IS NULL OR m.id < $2)
   AND ($3::text IS NULL OR m.sender = $3)
   AND ($4::text IS NULL OR m.outcome = $4)
   AND ($5::timestamptz IS NULL OR m.received_at >= $5)
   AND ($6::timestamptz IS NULL OR m.received_at < $6)
 ORDER BY m.id DESC
 LIMIT $7

-- name: list_events
-- newest first by receipt time, then id; the cursor $2 is the last id of the page before
-- (its receipt time looked up). The bounds are written so that they are one range of
-- consent_event_brand_time_idx (brand_id, received_at, id) whatever is NULL, also in a
-- generic plan: a day a month back is reached by descending the index (migration 0029)
SELECT
       e.id, e.message_id, e.submission_id, e.brand_id, e.recipient, e.recipient_type,
       e.type, e.status,
       e.source, e.state, e.received_at, e.consent_date, e.deadline_at, e.attempts,
       e.iys_transaction_id, e.iys_created_at AS iys_creation_date, e.last_error_code,
       e.last_error, e.created_at, e.updated_at, e.review_decision, e.reviewed_at,
       e.reviewed_by
  FROM consent_event e
 WHERE e.brand_id = $1
   AND ($3::text IS NULL OR e.recipient = $3)
   AND ($4::text IS NULL OR e.status = $4)
   AND ($5::text IS NULL OR e.state = $5)
   AND ($6::text IS NULL OR e.type = $6)
   AND e.received_at >= coalesce($7::timestamptz, '-infinity')
   -- one upper bound, the lower of "before $8" = ($8, min id) and the cursor (its receipt
   -- time, its id): the scan starts there. Two bounds on the column (a scalar and a row) are
   -- not comparable for the index, which then started at the newest and walked back.
   AND (e.received_at, e.id) < (
         (SELECT least(coalesce($8::timestamptz, 'infinity'),
                       coalesce((SELECT c.received_at FROM consent_event c
                                  WHERE c.id = $2::bigint), 'infinity'))),
         (SELECT CASE WHEN coalesce($8::timestamptz, 'infinity')
                           <= coalesce((SELECT c.received_at FROM consent_event c
                                         WHERE c.id = $2::bigint), 'infinity')
                      THEN -9223372036854775808
                      ELSE coalesce($2::bigint, 9223372036854775807) END))
 ORDER BY e.received_at DESC, e.id DESC
 LIMIT $9

-- name: export_events
-- the CSV export walks the same filter oldest first by receipt time, then id, a page of $9
-- rows after the event $2 (keyset: its receipt time looked up), as one range of
-- consent_event_brand_time_idx (brand_id, received_at, id) starting at the later of "from"
-- ($7, min id) and the cursor: a far-back or a recent "from" is reached by descending the
-- index, not by walking ids from the brand's first event (ids need not follow receipt times:
-- an imported consent keeps its own date). One lower bound (a row), as in list_events: two
-- bounds on the column are not comparable for the index.
SELECT
       e.id, e.message_id, e.submission_id, e.brand_id, e.recipient, e.recipient_type,
       e.type, e.status,
       e.source, e.state, e.received_at, e.consent_date, e.deadline_at, e.attempts,
       e.iys_transaction_id, e.iys_created_at AS iys_creation_date, e.last_error_code,
       e.last_error, e.created_at, e.updated_at, e.review_decision, e.reviewed_at,
       e.reviewed_by
  FROM consent_event e
 WHERE e.brand_id = $1
   AND ($3::text IS NULL OR e.recipient = $3)
   AND ($4::text IS NULL OR e.status = $4)
   AND ($5::text IS NULL OR e.state = $5)
   AND ($6::text IS NULL OR e.type = $6)
   AND e.received_at < coalesce($8::timestamptz, 'infinity')
   AND (e.received_at, e.id) > (
         (SELECT greatest(coalesce($7::timestamptz, '-infinity'),
                          coalesce((SELECT c.received_at FROM consent_event c
                                     WHERE c.id = $2::bigint), '-infinity'))),
         (SELECT CASE WHEN coalesce($7::timestamptz, '-infinity')
                           > coalesce((SELECT c.received_at FROM consent_event c
                                        WHERE c.id = $2::bigint), '-infinity')
                      THEN -9223372036854775808
                      ELSE coalesce($2::bigint, -9223372036854775808) END))
 ORDER BY e.received_at, e.id
 LIMIT $9

-- name: recipient_messages
-- A recipient's messages to a brand: those that made one of its events (found through the
-- events: a message's sender is its events' recipient, consent_event_key_idx), and those to
-- one of its own numbers that made no consent (mo_message_sender_idx holds only those:
-- migrations/0017).
SELECT m.id, m.link, m.received_at, m.completed_at, m.sender, m.source_addr,
       m.destination_addr, m.text, m.normalized, m.outcome, m.reason
  FROM mo_message m
 WHERE m.id IN (SELECT e.message_id FROM consent_event e
                 WHERE e.recipient = $2 AND e.brand_id = $1)
UNION
SELECT m.id, m.link, m.received_at, m.completed_at, m.sender, m.source_addr,
       m.destination_addr, m.text, m.normalized, m.outcome, m.reason
  FROM mo_message m
 WHERE m.sender = $2 AND m.outcome <> 'consent' AND m.destination_addr = ANY($3::text[])
 ORDER BY id

-- name: recipient_pdus
SELECT id, message_id, link, received_at, command, sequence, pdu, fields, source_addr,
       destination_addr, kind, data_coding, encoding, text, redelivery_of
  FROM sms_in WHERE message_id = ANY($1::bigint[]) ORDER BY id

-- name: recipient_events
SELECT
       e.id, e.message_id, e.submission_id, e.brand_id, e.recipient, e.recipient_type,
       e.type, e.status,
       e.source, e.state, e.received_at, e.consent_date, e.deadline_at, e.attempts,
       e.iys_transaction_id, e.iys_created_at AS iys_creation_date, e.last_error_code,
       e.last_error, e.created_at, e.updated_at, e.review_decision, e.reviewed_at,
       e.reviewed_by

  FROM consent_event e WHERE e.brand_id = $1 AND e.recipient = $2 ORDER BY e.id

-- name: event_attempts
SELECT id, event_id, started_at, latency_ms, method, path, request, http_status, response,
       code, outcome
  FROM iys_attempt WHERE event_id = ANY($1::bigint[]) ORDER BY id

-- name: recipient_submissions
-- consents recorded through the API, the CLI or the page (issue #28): their evidence
SELECT s.id, s.via, s.actor, s.recipient_input, s.consent_date, s.evidence, s.created_at
  FROM consent_submission s
 WHERE s.id IN (SELECT e.submission_id FROM consent_event e
                 WHERE e.brand_id = $1 AND e.recipient = $2 AND e.submission_id IS NOT NULL)
 ORDER BY s.id

-- name: recipient_iys_changes
SELECT c.transaction_id, c.recipient_type, c.type, c.status, c.source,
       c.iys_consent_at AS consent_date, c.iys_created_at AS creation_date, c.pulled_at
  FROM iys_change c JOIN brand b ON b.brand_code = c.brand_code
 WHERE b.id = $1 AND c.recipient = $2
 ORDER BY c.id

