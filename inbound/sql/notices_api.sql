-- E-mail notice subscriptions through the API (inbound/api/routes_notices.py). $1 is the
-- caller's owner, or NULL for the operator (every owner); another owner's subscription is
-- found by nobody but its owner and the operator.

-- name: api_list_notices
SELECT * FROM notice_subscription
 WHERE $1::bigint IS NULL OR owner_id = $1
 ORDER BY id

-- name: api_one_notice
SELECT * FROM notice_subscription
 WHERE id = $2 AND ($1::bigint IS NULL OR owner_id = $1)

-- name: api_subscribe_notice
-- notices.sql's subscribe, answering whether the row is new (xmax = 0: not an update).
INSERT INTO notice_subscription (owner_id, email, digest, immediate)
VALUES ($1, $2, $3, $4)
ON CONFLICT (owner_id, email) DO UPDATE SET digest = excluded.digest,
                                            immediate = excluded.immediate
RETURNING *, (xmax = 0) AS created

-- name: api_unsubscribe_notice
DELETE FROM notice_subscription
 WHERE id = $2 AND ($1::bigint IS NULL OR owner_id = $1)
RETURNING id
