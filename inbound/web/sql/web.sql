-- The web page's own SQL (inbound/web): sessions, sign-in lock-out and the events-per-day
-- chart. Everything about brands, numbers, events and recipients comes from the API's
-- statements through its handlers. Loaded once by inbound.sqlfile.

-- name: sign_in
-- One row whatever the address: the user's id and hash (NULL when no user has it) and
-- whether the address is locked. $1: SHA-256 of the lower-cased address; $2: the address.
SELECT u.id, u.password_hash, COALESCE(f.locked_until > now(), false) AS locked
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT id, password_hash FROM web_user
                      WHERE lower(email) = lower($2) ORDER BY id LIMIT 1) u ON true
  LEFT JOIN web_sign_in_failure f ON f.email_digest = $1

-- name: sign_in_failed
-- $2: failures allowed; $3: lock duration. At the limit the counter restarts and the address
-- is locked until now() + $3. Failures older than a day are forgotten.
INSERT INTO web_sign_in_failure AS f (email_digest, failures, locked_until, updated_at)
VALUES ($1, CASE WHEN 1 >= $2 THEN 0 ELSE 1 END,
        CASE WHEN 1 >= $2 THEN now() + $3::interval END, now())
ON CONFLICT (email_digest) DO UPDATE
   SET failures = CASE WHEN f.updated_at < now() - interval '1 day' THEN 1
                       WHEN f.failures + 1 >= $2 THEN 0 ELSE f.failures + 1 END,
       locked_until = CASE WHEN f.updated_at >= now() - interval '1 day'
                            AND f.failures + 1 >= $2 THEN now() + $3::interval
                           ELSE f.locked_until END,
       updated_at = now()
RETURNING locked_until > now() AS locked

-- name: sign_in_succeeded
DELETE FROM web_sign_in_failure WHERE email_digest = $1

-- name: forget_old_failures
DELETE FROM web_sign_in_failure
 WHERE updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())

-- name: set_password
-- The operator's reset (CLI): the owner's own password, kept on the owner and on its admin
-- user of the same e-mail (made here when the owner has none yet). Returns the user's id
-- and e-mail; no row when the owner does not exist or has no e-mail.
WITH o AS (UPDATE owner SET password_hash = $2, failed_logins = 0, locked_until = NULL
            WHERE id = $1 RETURNING id, name, email),
     u AS (INSERT INTO web_user (owner_id, email, name, role, password_hash)
           SELECT id, email, name, 'admin', $2 FROM o WHERE email IS NOT NULL
           ON CONFLICT (lower(email)) DO UPDATE SET password_hash = EXCLUDED.password_hash
            WHERE web_user.owner_id = EXCLUDED.owner_id
           RETURNING id, email)
SELECT u.id, u.email FROM u

-- name: set_user_password
UPDATE web_user SET password_hash = $2 WHERE id = $1 RETURNING email

-- name: rehash_password
UPDATE web_user SET password_hash = $3 WHERE id = $1 AND password_hash = $2

-- name: insert_session
INSERT INTO web_session (token_hash, owner_id, user_id, csrf, expires_at)
SELECT $1, u.owner_id, u.id, $3, now() + $4::interval FROM web_user u WHERE u.id = $2

-- name: session
SELECT s.owner_id, s.user_id, s.csrf, o.name, u.email, u.name AS user_name, u.role
  FROM web_session s JOIN owner o ON o.id = s.owner_id JOIN web_user u ON u.id = s.user_id
 WHERE s.token_hash = $1 AND s.expires_at > now()

-- name: delete_user_sessions
-- every session of a user but the one given ($2; NULL: all)
DELETE FROM web_session WHERE user_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)

-- name: delete_session
DELETE FROM web_session WHERE token_hash = $1

-- name: delete_owner_sessions
DELETE FROM web_session WHERE owner_id = $1

-- name: delete_expired_sessions
DELETE FROM web_session WHERE expires_at <= now()

-- name: events_per_day
-- events per day (Turkish time) and status over the days [$2, $3), from the tally (migration
-- 0029: signed deltas, summed here); the brand is checked by the caller
SELECT day, status, sum(n)::bigint AS n
  FROM consent_event_tally
 WHERE brand_id = $1 AND day >= $2::date AND day < $3::date
 GROUP BY 1, 2 HAVING sum(n) <> 0 ORDER BY 1, 2

-- name: last_event_at
SELECT max(received_at) FROM consent_event WHERE brand_id = $1

