-- Consents from the brand's own channels (issue #28): the one validating writer
-- (inbound/consent_store.py) and a recipient's state view (inbound/consent_state.py).
-- Loaded once by inbound.sqlfile; values always travel as parameters.

-- == idempotency ==

-- name: idempotent_answer
SELECT request_digest, status, response FROM api_idempotency WHERE scope = $1 AND key = $2

-- name: claim_idempotency
-- Taken first in the recording transaction: a concurrent request with the same key waits
-- here for the first one's commit, then finds its answer (no row back).
INSERT INTO api_idempotency (scope, key, request_digest, status, response)
VALUES ($1, $2, $3, 202, '{}') ON CONFLICT (scope, key) DO NOTHING RETURNING 1

-- name: prune_idempotency
-- Answers are kept for $1 days (consent_store.IDEMPOTENCY_DAYS): a retry comes within
-- minutes or hours, not months.
DELETE FROM api_idempotency WHERE created_at < now() - make_interval(days => $1)

-- name: save_idempotent_answer
UPDATE api_idempotency SET response = $3 WHERE scope = $1 AND key = $2

-- == recording ==

-- name: insert_submissions
INSERT INTO consent_submission (brand_id, via, actor, idempotency_key, item_index,
                                recipient_input, consent_date, evidence)
SELECT $1, $2, $3, $4, u.idx, u.recipient_input, u.consent_date, u.evidence::jsonb
  FROM unnest($5::int[], $6::text[], $7::timestamptz[], $8::text[])
       AS u(idx, recipient_input, consent_date, evidence)
RETURNING id, item_index

-- name: insert_submission_events
-- One event per (submission, type); the brand's codes are snapshotted as for an SMS event.
INSERT INTO consent_event (submission_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, source, received_at, consent_date,
                           deadline_at)
SELECT u.submission_id, b.id, b.iys_code, b.brand_code, u.recipient, u.recipient_type,
       u.type, u.status, u.source, u.consent_date, u.consent_date, u.deadline_at
  FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::timestamptz[], $9::timestamptz[])
       AS u(submission_id, recipient, recipient_type, type, status, source, consent_date,
            deadline_at)
  JOIN brand b ON b.id = $1
RETURNING id, submission_id, type, state

-- name: known_keys
-- Which of these keys have a movement known here: our view of İYS, or an event of ours
-- that is (or is about to be) in İYS.
SELECT u.recipient, u.recipient_type, u.type
  FROM unnest($2::text[], $3::text[], $4::text[]) AS u(recipient, recipient_type, type)
  JOIN brand b ON b.id = $1
 WHERE EXISTS (SELECT 1 FROM iys_key_state k
                WHERE (k.brand_code, k.recipient, k.recipient_type, k.type)
                    = (b.brand_code, u.recipient, u.recipient_type, u.type))
    OR EXISTS (SELECT 1 FROM consent_event e
                WHERE (e.brand_code, e.recipient, e.recipient_type, e.type)
                    = (b.brand_code, u.recipient, u.recipient_type, u.type)
                  AND e.state IN ('pending', 'accepted', 'not_needed', 'duplicate'))

-- == a recipient's state ==

-- name: key_states
-- Brand $1's per-key view of recipient $2, with the İYS transaction id of the movement it
-- holds: from our accepted push of that date, or from the pulled change of that date.
SELECT k.recipient_type, k.type, k.status, k.consent_date, k.source, k.origin, k.updated_at,
       (SELECT e.iys_transaction_id FROM consent_event e
         WHERE (e.brand_code, e.recipient, e.recipient_type, e.type)
             = (k.brand_code, k.recipient, k.recipient_type, k.type)
           AND e.state = 'accepted' AND e.consent_date = k.consent_date
         ORDER BY e.id DESC LIMIT 1) AS pushed_transaction_id,
       (SELECT c.transaction_id FROM iys_change c
         WHERE (c.brand_code, c.recipient, c.recipient_type, c.type)
             = (k.brand_code, k.recipient, k.recipient_type, k.type)
           AND c.iys_consent_at = k.consent_date
         ORDER BY c.id DESC LIMIT 1) AS pulled_transaction_id
  FROM iys_key_state k JOIN brand b ON b.brand_code = k.brand_code
 WHERE b.id = $1 AND k.recipient = $2

-- name: recipient_pending_events
-- Brand $1's events of recipient $2 not settled yet, in the order the pusher sends them.
SELECT e.id, e.recipient_type, e.type, e.status, e.source, e.state, e.consent_date,
       e.deadline_at, e.last_error_code
  FROM consent_event e
 WHERE e.brand_id = $1 AND e.recipient = $2 AND e.state IN ('pending', 'review')
 ORDER BY e.received_at, e.id

-- name: brand_codes
SELECT iys_code, brand_code FROM brand WHERE id = $1

-- name: view_of_key
-- What the per-key view holds for ($1 brand_code, $2 recipient, $3 recipient_type, $4 type).
SELECT consent_date, origin FROM iys_key_state
 WHERE (brand_code, recipient, recipient_type, type) = ($1, $2, $3, $4)
