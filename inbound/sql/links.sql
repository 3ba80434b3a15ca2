-- Consent and opt-out by link (issue #30, migration 0025): minting, the page's lookup, the
-- recording of a tap and revoking. Loaded once by inbound.sqlfile (inbound.consent_links).

-- name: mint
-- One personal or brand-wide link. $1 brand, $2 sha256(code), $3 recipient or NULL,
-- $4 action, $5 types, $6 expires_at or NULL, $7 who.
INSERT INTO consent_link (brand_id, code_hash, recipient, action, types, expires_at,
                          created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id, created_at

-- name: lookup
-- The page's only read, the same for every code (known or not): the link, its brand's name
-- and privacy notice settings, and whether it may still be used. $1: sha256(code).
SELECT l.id, l.brand_id, l.recipient, l.action, l.types, l.expires_at, l.revoked_at,
       l.confirmed_at, l.result, b.name AS brand_name,
       b.settings -> 'privacy_notice' AS privacy_notice,
       (l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > now())) AS usable
  FROM consent_link l JOIN brand b ON b.id = l.brand_id
 WHERE l.code_hash = $1

-- name: lock_for_confirm
-- Taken in the recording transaction: a second tap arriving meanwhile waits for the first
-- one's commit, then sees its result. $1: sha256(code).
SELECT l.id, l.brand_id, l.recipient, l.action, l.types, l.confirmed_at, l.result,
       (l.revoked_at IS NULL AND (l.expires_at IS NULL OR l.expires_at > now())) AS usable
  FROM consent_link l
 WHERE l.code_hash = $1
   FOR UPDATE

-- name: confirmed
-- $1 link, $2 confirmed_at, $3 submission, $4 the result shown (jsonb).
UPDATE consent_link SET confirmed_at = $2, submission_id = $3, result = $4 WHERE id = $1

-- name: revoke
-- $1 brand, $2 link id. Revoking twice keeps the first moment.
UPDATE consent_link SET revoked_at = COALESCE(revoked_at, now())
 WHERE brand_id = $1 AND id = $2
RETURNING id, revoked_at

-- name: one
-- One link of a brand, for the API. $1 brand, $2 id.
SELECT id, recipient, action, types, expires_at, created_by, created_at, revoked_at,
       confirmed_at, submission_id
  FROM consent_link WHERE brand_id = $1 AND id = $2

-- name: otp_recent
-- Codes asked in the last hour for this number ($1) and from this address ($2).
SELECT (SELECT count(*) FROM consent_link_otp
         WHERE recipient = $1 AND created_at > now() - interval '1 hour') AS per_number,
       (SELECT count(*) FROM consent_link_otp
         WHERE address = $2 AND created_at > now() - interval '1 hour') AS per_address

-- name: otp_send
-- The code's SMS, on the sending link's outbox (no stored message answers it: message_id
-- NULL; kind 'otp'). $1 outbox, $2 recipient, $3 source address, $4 text.
INSERT INTO sms_out (message_id, link, recipient, source_addr, text, kind)
VALUES (NULL, $1, $2, $3, $4, 'otp')
RETURNING id

-- name: otp_insert
-- $1 link, $2 recipient, $3 digest, $4 address, $5 validity (seconds), $6 sms_out id.
INSERT INTO consent_link_otp (link_id, recipient, code_digest, address, expires_at, sms_id)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)
RETURNING id

-- name: otp_requests_lock
-- One number's or one address's code requests are serialised ($1 'otp:' || number or
-- 'otp-a:' || address), so the counts of otp_recent hold.
SELECT pg_advisory_xact_lock(hashtext($1))

-- name: otp_lock
-- $1 otp id, $2 link id.
SELECT id, recipient, code_digest, tries, used_at, result,
       expires_at > now() AS fresh
  FROM consent_link_otp WHERE id = $1 AND link_id = $2
   FOR UPDATE

-- name: otp_wrong
UPDATE consent_link_otp SET tries = tries + 1 WHERE id = $1 RETURNING tries

-- name: otp_used
-- $1 otp id, $2 result (jsonb).
UPDATE consent_link_otp SET used_at = now(), result = $2 WHERE id = $1

-- name: otp_blank_expired
-- The code lives in clear in its SMS row only while it can be used.
UPDATE sms_out SET text = '[one-time code]'
 WHERE kind = 'otp' AND created_at < now() - interval '10 minutes'
   AND text <> '[one-time code]'
