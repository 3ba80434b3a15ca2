-- The İYS mirror's statements (iys_push.mirror, puller, reconcile, seed; issue #29).
-- Loaded once by inbound.sqlfile; values always travel as parameters.

-- name: insert_movements
-- Each movement once (the unique key absorbs repeats from any feed and any process); in key
-- order, so two transactions storing overlapping movements lock in the same order. Only the
-- rows stored now come back: they, and only they, are applied to the mirror.
INSERT INTO iys_change (brand_code, transaction_id, recipient, recipient_type, type, status,
                        source, consent_date, creation_date, payload, channel, ours)
SELECT $1, u.tx, u.recipient, u.recipient_type, u.type, u.status, u.source, u.consent_date,
       u.creation_date, u.payload, $11,
       EXISTS (SELECT 1 FROM consent_event e
                WHERE e.brand_code = $1 AND e.iys_transaction_id = u.tx
                  AND e.recipient = u.recipient AND e.type = u.type)
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::text[], $9::text[], $10::jsonb[])
       AS u(tx, recipient, recipient_type, type, status, source, consent_date, creation_date,
            payload)
 ORDER BY u.recipient, u.recipient_type, u.type, u.tx
ON CONFLICT (brand_code, transaction_id, recipient, type) DO NOTHING
RETURNING transaction_id, recipient, recipient_type, type, ours

-- name: apply_to_mirror
-- One row per key (the caller keeps the newest of a key). The newer movement wins: a later
-- consent date, or at the same (or an unknown) consent date a later creation date. The same
-- transaction id again changes nothing (so a repeat fires no trigger). Our own movement
-- seen again in a feed keeps the origin 'push'.
INSERT INTO iys_key_state AS k (brand_code, recipient, recipient_type, type, status,
                                consent_date, source, origin, transaction_id, creation_date,
                                updated_at)
SELECT $1, u.*, now()
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
              $8::text[], $9::text[], $10::timestamptz[])
       AS u(recipient, recipient_type, type, status, consent_date, source, origin,
            transaction_id, creation_date)
 ORDER BY 2, 3, 4
ON CONFLICT (brand_code, recipient, recipient_type, type) DO UPDATE
   SET status = EXCLUDED.status, consent_date = EXCLUDED.consent_date,
       source = EXCLUDED.source, origin = EXCLUDED.origin,
       transaction_id = EXCLUDED.transaction_id, creation_date = EXCLUDED.creation_date,
       updated_at = now()
 WHERE k.transaction_id IS DISTINCT FROM EXCLUDED.transaction_id
   AND ((EXCLUDED.consent_date IS NOT NULL
         AND (k.consent_date IS NULL OR EXCLUDED.consent_date > k.consent_date))
        OR ((EXCLUDED.consent_date IS NULL OR EXCLUDED.consent_date = k.consent_date)
            AND (k.creation_date IS NULL OR EXCLUDED.creation_date > k.creation_date)))
RETURNING recipient, recipient_type, type

-- name: seed_state
-- A seeding run's answer (batch status: ONAY listed, others not): a key the mirror does not
-- know gets a row; a known key whose status differs takes İYS's present status (no date:
-- the batch status endpoint gives none). A row that agrees is left alone.
INSERT INTO iys_key_state AS k (brand_code, recipient, recipient_type, type, status,
                                consent_date, source, origin, updated_at)
SELECT $1, u.recipient, $3, $4, u.status, NULL, NULL, 'seed', now()
  FROM unnest($2::text[], $5::text[]) AS u(recipient, status)
 ORDER BY 2
ON CONFLICT (brand_code, recipient, recipient_type, type) DO UPDATE
   SET status = EXCLUDED.status, consent_date = NULL, source = NULL, origin = 'seed',
       transaction_id = NULL, creation_date = NULL, updated_at = now()
 WHERE k.status <> EXCLUDED.status
RETURNING recipient

-- name: mark_pulled
INSERT INTO iys_mirror_status (brand_code, pulled_at, updated_at) VALUES ($1, now(), now())
ON CONFLICT (brand_code) DO UPDATE SET pulled_at = now(), updated_at = now()

-- name: mark_pushed
INSERT INTO iys_mirror_status (brand_code, pushed_at, updated_at) VALUES ($1, now(), now())
ON CONFLICT (brand_code) DO UPDATE SET pushed_at = now(), updated_at = now()

-- name: mark_push_registered
INSERT INTO iys_mirror_status (brand_code, push_registered, updated_at) VALUES ($1, $2, now())
ON CONFLICT (brand_code) DO UPDATE SET push_registered = $2, updated_at = now()

-- name: mark_reconciled
-- the newest day whose file matched (an older day matching later never moves it back)
INSERT INTO iys_mirror_status (brand_code, reconciled_day, updated_at) VALUES ($1, $2, now())
ON CONFLICT (brand_code) DO UPDATE
   SET reconciled_day = GREATEST(iys_mirror_status.reconciled_day, $2), updated_at = now()

-- name: pull_cursor
SELECT after FROM iys_pull_cursor WHERE brand_code = $1 AND source = $2

-- name: save_pull_cursor
INSERT INTO iys_pull_cursor (brand_code, source, after, updated_at) VALUES ($1, $2, $3, now())
ON CONFLICT (brand_code, source) DO UPDATE SET after = EXCLUDED.after, updated_at = now()

-- name: brand_by_id
SELECT id, iys_code, brand_code, reconcile_auto_agree FROM brand WHERE id = $1

-- name: insert_inbox
INSERT INTO iys_push_inbox (brand_id, remote, outcome, movements, new_rows, detail, body)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: mirror_overview
-- per brand: the freshness row and the latest reconciliation report
SELECT b.id, b.name, b.brand_code, b.reconcile_auto_agree, s.pulled_at, s.pushed_at,
       s.push_registered, s.reconciled_day,
       r.day AS last_day, r.outcome AS last_outcome, r.drift_rows AS last_drift,
       r.agreed_at AS last_agreed_at
  FROM brand b
  LEFT JOIN iys_mirror_status s ON s.brand_code = b.brand_code
  LEFT JOIN LATERAL (SELECT day, outcome, drift_rows, agreed_at FROM iys_reconciliation
                      WHERE brand_code = b.brand_code ORDER BY day DESC LIMIT 1) r ON true
 WHERE $1::bigint IS NULL OR b.owner_id = $1
 ORDER BY b.id

-- name: day_events
-- our accepted events whose İYS creation date falls on the day (Turkey time)
SELECT id, iys_transaction_id, recipient, recipient_type, type, status, deadline_at
  FROM consent_event
 WHERE brand_code = $1 AND state = 'accepted' AND iys_transaction_id IS NOT NULL
   AND iys_created_at >= ($2::date)::timestamp AT TIME ZONE 'Europe/Istanbul'
   AND iys_created_at < ($2::date + 1)::timestamp AT TIME ZONE 'Europe/Istanbul'

-- name: requeue_drifted
-- an accepted event İYS's daily file lacks goes back to the outbox: sent again (an ONAY or a
-- RET İYS lost must not stay lost); İYS's v2 add answers a resend it has with its record
UPDATE consent_event
   SET state = 'pending', next_attempt_at = now(), lease_owner = NULL, lease_until = NULL,
       last_error_code = 'RECONCILE_DRIFT',
       last_error = 'İYS''s daily file for ' || $2 || ' lacks this accepted movement; sent again',
       updated_at = now()
 WHERE id = ANY($1::bigint[]) AND state = 'accepted'

-- name: save_report
INSERT INTO iys_reconciliation AS r (brand_code, day, outcome, file_rows, counted_rows,
                                     file_hash, iys_hash, hash_ok, applied, drift_rows, drift,
                                     detail, agreed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (brand_code, day) DO UPDATE
   SET ran_at = now(), runs = r.runs + 1, outcome = EXCLUDED.outcome,
       file_rows = EXCLUDED.file_rows, counted_rows = EXCLUDED.counted_rows,
       file_hash = EXCLUDED.file_hash, iys_hash = EXCLUDED.iys_hash,
       hash_ok = EXCLUDED.hash_ok, applied = EXCLUDED.applied,
       drift_rows = EXCLUDED.drift_rows, drift = EXCLUDED.drift, detail = EXCLUDED.detail,
       agreed_at = COALESCE(EXCLUDED.agreed_at, r.agreed_at)
RETURNING *

-- name: reports
SELECT * FROM iys_reconciliation
 WHERE brand_code = $1 AND ($2::date IS NULL OR day = $2)
 ORDER BY day DESC LIMIT 31

-- name: set_auto_agree
UPDATE brand SET reconcile_auto_agree = $2 WHERE id = $1 RETURNING id

-- name: mirror_gauges
SELECT b.brand_code, min(b.id) AS brand_id, s.pulled_at, s.reconciled_day,
       (SELECT r.drift_rows FROM iys_reconciliation r WHERE r.brand_code = b.brand_code
         ORDER BY r.day DESC LIMIT 1) AS drift_rows
  FROM brand b LEFT JOIN iys_mirror_status s ON s.brand_code = b.brand_code
 GROUP BY b.brand_code, s.pulled_at, s.reconciled_day

-- name: days_to_reconcile
-- the days from $2 - $3 to $2 that have no matched report and none newer than $4 seconds
SELECT d::date AS day
  FROM generate_series($2::date - $3::int, $2::date, interval '1 day') AS d
 WHERE NOT EXISTS (SELECT 1 FROM iys_reconciliation r
                    WHERE r.brand_code = $1 AND r.day = d::date
                      AND (r.outcome = 'matched'
                           OR r.ran_at > now() - make_interval(secs => $4)))
 ORDER BY 1

-- name: brands_to_reconcile
SELECT id, brand_code FROM brand ORDER BY id

-- name: brand_mirror_status
SELECT b.reconcile_auto_agree, s.pulled_at, s.pushed_at, s.push_registered, s.reconciled_day
  FROM brand b LEFT JOIN iys_mirror_status s ON s.brand_code = b.brand_code
 WHERE b.id = $1

-- name: brand_for_update
SELECT owner_id, reconcile_auto_agree FROM brand WHERE id = $1 FOR UPDATE

-- name: mirror_brand_owner
SELECT owner_id FROM brand WHERE id = $1

-- name: day_agreed_at
SELECT r.agreed_at FROM iys_reconciliation r JOIN brand b ON b.brand_code = r.brand_code
 WHERE b.id = $1 AND r.day = $2
