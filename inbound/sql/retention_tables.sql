-- Retention of the mirror's, links', imports', webhooks' and notices' tables
-- (inbound/retention_tables.py; README "Retention"). Each statement deletes at most $2 rows
-- older than now() minus the period $1 and answers one row per row deleted, so the job runs
-- it again until a batch comes back short. None of them touches a consent_event, a
-- consent_submission or the mirror (iys_key_state, iys_change): the evidence stays.

-- name: webhook_attempts
-- The delivery log: attempts older than the period whose delivery is no longer pending (a
-- replayed delivery keeps its old attempts while it is retried).
WITH doomed AS (
    SELECT a.id FROM webhook_attempt a
     WHERE a.at < now() - $1::interval
       AND NOT EXISTS (SELECT 1 FROM webhook_delivery d
                        WHERE (d.endpoint_id, d.event_id) = (a.endpoint_id, a.event_id)
                          AND d.state = 'pending')
     LIMIT $2
)
DELETE FROM webhook_attempt a USING doomed WHERE a.id = doomed.id RETURNING 1

-- name: webhook_events
-- Events older than the period that were sequenced and have no pending delivery left
-- (every delivery delivered or given up); their deliveries go with them (ON DELETE CASCADE).
WITH doomed AS (
    SELECT e.id FROM webhook_event e
     WHERE e.created_at < now() - $1::interval AND e.seq IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM webhook_delivery d
                        WHERE d.event_id = e.id AND d.state = 'pending')
     LIMIT $2
)
DELETE FROM webhook_event e USING doomed WHERE e.id = doomed.id RETURNING 1

-- name: notice_subscriptions
SELECT id, owner_id, created_at FROM notice_subscription ORDER BY id

-- name: notices_sent
-- One subscription's ($3) sent items older than the period, except the ones its immediate
-- query still answers ($4): those would be mailed again once forgotten.
WITH doomed AS (
    SELECT item FROM notice_sent
     WHERE subscription_id = $3 AND sent_at < now() - $1::interval
       AND NOT (item = ANY ($4::text[]))
     LIMIT $2
)
DELETE FROM notice_sent n USING doomed
 WHERE n.subscription_id = $3 AND n.item = doomed.item RETURNING 1

-- name: iys_push_requests
-- The raw requests to POST /iys/push/{brand}; their movements stay in iys_change.
WITH doomed AS (
    SELECT id FROM iys_push_inbox WHERE received_at < now() - $1::interval LIMIT $2
)
DELETE FROM iys_push_inbox i USING doomed WHERE i.id = doomed.id RETURNING 1

-- name: link_codes
-- One-time codes used or expired more than the period ago, with the SMS that carried them
-- (an sms_out row of kind 'otp', answering no message). The table holds about a day of
-- codes, so no index: the scan stays small.
WITH doomed AS (
    SELECT id, sms_id FROM consent_link_otp
     WHERE coalesce(used_at, expires_at) < now() - $1::interval
     LIMIT $2
), gone AS (
    DELETE FROM consent_link_otp o USING doomed WHERE o.id = doomed.id RETURNING o.sms_id
), sms AS (
    DELETE FROM sms_out s USING gone WHERE s.id = gone.sms_id AND s.kind = 'otp'
)
SELECT 1 FROM gone

-- name: unused_links
-- Links expired more than the period ago that recorded nothing: no personal tap
-- (confirmed_at) and no submission naming the link (a brand-wide link records one per
-- number, actor 'link:<id>'). A link that recorded a consent is kept with its evidence.
WITH doomed AS (
    SELECT l.id FROM consent_link l
     WHERE l.expires_at < now() - $1::interval
       AND l.confirmed_at IS NULL AND l.submission_id IS NULL
       AND NOT EXISTS (SELECT 1 FROM consent_submission s
                        WHERE s.via = 'link' AND s.actor = 'link:' || l.id)
     LIMIT $2
)
DELETE FROM consent_link l USING doomed WHERE l.id = doomed.id RETURNING 1

-- name: import_rows
-- The per-row outcomes of imports finished (or cancelled, or failed) more than the period
-- ago. The import's counts stay in consent_import; the consents it recorded stay as
-- consent_submission and consent_event rows.
WITH doomed AS (
    SELECT r.import_id, r.row_no
      FROM consent_import i JOIN consent_import_row r ON r.import_id = i.id
     WHERE i.finished_at < now() - $1::interval
     LIMIT $2
)
DELETE FROM consent_import_row r USING doomed
 WHERE (r.import_id, r.row_no) = (doomed.import_id, doomed.row_no) RETURNING 1
