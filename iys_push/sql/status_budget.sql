-- İYS's status endpoint budget (iys_push/status_budget.py): one iys_status_call row per
-- call, a sliding hour per account ($1). Loaded once by inbound.sqlfile.

-- name: status_call_record
-- The calls that left the window go as new ones come (the table holds about an hour).
WITH gone AS (DELETE FROM iys_status_call
               WHERE account = $1 AND at < clock_timestamp() - interval '1 hour')
INSERT INTO iys_status_call (account) VALUES ($1)

-- name: status_calls_take
-- One taker at a time per account (transaction-scoped advisory lock), so two refreshes
-- cannot both see room for the last calls; old rows are removed as the window slides.
WITH locked AS (SELECT pg_advisory_xact_lock(hashtext('iys_status_call:' || $1))),
gone AS (DELETE FROM iys_status_call
          WHERE account = $1 AND at < clock_timestamp() - interval '1 hour'
            AND (SELECT true FROM locked))
SELECT count(*) AS used
  FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
   AND (SELECT true FROM locked)

-- name: status_calls_taken
-- $2 calls taken (under status_calls_take's lock, in its transaction).
INSERT INTO iys_status_call (account) SELECT $1 FROM generate_series(1, $2)

-- name: status_call_nth_leaves
-- When the $2-th oldest call of the window leaves it (seconds from now).
SELECT EXTRACT(EPOCH FROM at + interval '1 hour' - clock_timestamp())
  FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
 ORDER BY at OFFSET $2 - 1 LIMIT 1

-- name: status_calls_used
SELECT count(*) FROM iys_status_call
 WHERE account = $1 AND at >= clock_timestamp() - interval '1 hour'
