"""The web page's own SQL: sessions, sign-in lock-out and the events-per-day chart.

Everything about brands, numbers, events and recipients comes from the brand-owner API
(``inbound.api.queries`` through its handlers); only what the API does not have lives here.
"""

from __future__ import annotations

# One row whatever the address: the owner's id and hash (NULL when no owner has it) and
# whether the address is locked. $1: SHA-256 of the lower-cased address; $2: the address.
SIGN_IN = """
SELECT o.id, o.password_hash, COALESCE(f.locked_until > now(), false) AS locked
  FROM (SELECT 1) AS one
  LEFT JOIN LATERAL (SELECT id, password_hash FROM owner
                      WHERE lower(email) = lower($2) ORDER BY id LIMIT 1) o ON true
  LEFT JOIN web_sign_in_failure f ON f.email_digest = $1
"""

# $2: failures allowed; $3: lock duration. At the limit the counter restarts and the address
# is locked until now() + $3. Failures older than a day are forgotten.
SIGN_IN_FAILED = """
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
"""

SIGN_IN_SUCCEEDED = "DELETE FROM web_sign_in_failure WHERE email_digest = $1"
FORGET_OLD_FAILURES = """
DELETE FROM web_sign_in_failure
 WHERE updated_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())
"""

SET_PASSWORD = """
UPDATE owner SET password_hash = $2, failed_logins = 0, locked_until = NULL
 WHERE id = $1 RETURNING coalesce(email, '')
"""

REHASH_PASSWORD = """
UPDATE owner SET password_hash = $3 WHERE id = $1 AND password_hash = $2
"""

INSERT_SESSION = """
INSERT INTO web_session (token_hash, owner_id, csrf, expires_at)
VALUES ($1, $2, $3, now() + $4::interval)
"""

SESSION = """
SELECT s.owner_id, s.csrf, o.name, o.email
  FROM web_session s JOIN owner o ON o.id = s.owner_id
 WHERE s.token_hash = $1 AND s.expires_at > now()
"""

DELETE_SESSION = "DELETE FROM web_session WHERE token_hash = $1"
DELETE_OWNER_SESSIONS = "DELETE FROM web_session WHERE owner_id = $1"
DELETE_EXPIRED_SESSIONS = "DELETE FROM web_session WHERE expires_at <= now()"

# events per day (Turkish time) and status over [$2, $3); the brand is checked by the caller
EVENTS_PER_DAY = """
SELECT (e.received_at AT TIME ZONE 'Europe/Istanbul')::date AS day, e.status, count(*) AS n
  FROM consent_event e
 WHERE e.brand_id = $1 AND e.received_at >= $2 AND e.received_at < $3
 GROUP BY 1, 2 ORDER BY 1, 2
"""

LAST_EVENT_AT = "SELECT max(received_at) FROM consent_event WHERE brand_id = $1"
