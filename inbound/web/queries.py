"""The web page's own SQL: sessions, sign-in lock-out and the events-per-day chart.

Everything about brands, numbers, events and recipients comes from the brand-owner API
(``inbound.api.queries`` through its handlers); only what the API does not have lives here.
"""

from __future__ import annotations

OWNER_FOR_LOGIN = """
SELECT id, password_hash, locked_until > now() AS locked
  FROM owner WHERE lower(email) = lower($1)
"""

# $2: failures allowed; $3: lock duration. At the limit the counter restarts and the
# account is locked until now() + $3.
LOGIN_FAILED = """
UPDATE owner
   SET failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
       locked_until = CASE WHEN failed_logins + 1 >= $2 THEN now() + $3::interval
                           ELSE locked_until END
 WHERE id = $1
RETURNING locked_until > now() AS locked
"""

LOGIN_SUCCEEDED = "UPDATE owner SET failed_logins = 0, locked_until = NULL WHERE id = $1"

SET_PASSWORD = """
UPDATE owner SET password_hash = $2, failed_logins = 0, locked_until = NULL
 WHERE id = $1 RETURNING id
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
