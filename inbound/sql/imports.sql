-- Bulk upload of consent files (issue #31): the import, its rows, its events.
-- Loaded once by inbound.sqlfile; values always travel as parameters.

-- name: create_import
INSERT INTO consent_import (brand_id, owner_id, via, actor, filename, format)
SELECT b.id, b.owner_id, $2, $3, $4, $5 FROM brand b WHERE b.id = $1
RETURNING id

-- name: progress
UPDATE consent_import SET rows_read = $2, updated_at = now() WHERE id = $1

-- name: fail_import
UPDATE consent_import SET state = 'failed', error = $2, updated_at = now(),
       finished_at = now()
 WHERE id = $1 AND state = 'storing'

-- name: mark_duplicates
-- one row per key is kept: the latest consent date (of two with the same date, the later
-- row); the others are reported with the row that was kept
WITH ranked AS (
    SELECT row_no, first_value(row_no) OVER w AS kept, row_number() OVER w AS n
      FROM consent_import_row
     WHERE import_id = $1 AND outcome = 'valid'
    WINDOW w AS (PARTITION BY recipient, recipient_type, type
                 ORDER BY consent_date DESC, row_no DESC)
)
UPDATE consent_import_row r
   SET outcome = 'duplicate', code = 'DUPLICATE',
       reason = 'row ' || ranked.kept || ' of the file has a later movement of this '
                || 'recipient and type: that row is kept'
  FROM ranked
 WHERE r.import_id = $1 AND r.row_no = ranked.row_no AND ranked.n > 1

-- name: mark_known
-- What is known here of each valid row's key: the latest pending or accepted event of ours,
-- else our view of İYS (iys_key_state). A row whose status is already the key's is
-- unchanged; an HS_KARAR row (the brand's own decision to stop) for a key with nothing known
-- is refused as the API refuses it (it may not be a key's first movement, H408/H175).
WITH known AS (
    SELECT r.row_no, r.status, r.source,
           COALESCE((SELECT e.status FROM consent_event e
                      WHERE (e.recipient, e.brand_code, e.recipient_type, e.type)
                          = (r.recipient, b.brand_code, r.recipient_type, r.type)
                        AND e.state IN ('pending', 'accepted')
                      ORDER BY e.received_at DESC, e.id DESC LIMIT 1),
                    k.status) AS known_status
      FROM consent_import_row r
      JOIN brand b ON b.id = $2
      LEFT JOIN iys_key_state k
             ON (k.brand_code, k.recipient, k.recipient_type, k.type)
              = (b.brand_code, r.recipient, r.recipient_type, r.type)
     WHERE r.import_id = $1 AND r.outcome = 'valid'
)
UPDATE consent_import_row r
   SET outcome = CASE WHEN known.known_status = known.status THEN 'unchanged'
                      ELSE 'refused' END,
       code = CASE WHEN known.known_status = known.status THEN 'UNCHANGED' ELSE 'H408' END,
       reason = CASE WHEN known.known_status = known.status
                     THEN 'already ' || known.status || ' here: nothing to tell İYS'
                     ELSE 'source: HS_KARAR cannot be the first movement of this recipient '
                          || 'and type: nothing of it is known here or in İYS (H175/H408)'
                END
  FROM known
 WHERE r.import_id = $1 AND r.row_no = known.row_no
   AND (known.known_status = known.status
        OR (known.source = 'HS_KARAR' AND known.known_status IS NULL))

-- name: take_ids
-- $1 submission and event ids from the tables' own sequences, taken (on a connection of
-- their own, sequences are not transactional) for a chunk of valid rows while they are
-- copied in: the inserts below then need no join between what they return (a join of two
-- CTEs the planner knows nothing about chose nested loops: a minute for 20,000 rows), and
-- no UPDATE of every row afterwards (16 s of a million-row file). Rows later marked
-- duplicate or unchanged leave their ids unused. The sequences are looked up once (a scalar
-- subquery): pg_get_serial_sequence called per row cost ~9 s a million rows. Two arrays,
-- not a row per id: a fifth of the decoding in Python.
SELECT array_agg(nextval((SELECT pg_get_serial_sequence('consent_submission', 'id'))::regclass))
           AS submission_ids,
       array_agg(nextval((SELECT pg_get_serial_sequence('consent_event', 'id'))::regclass))
           AS event_ids
  FROM generate_series(1, $1)

-- name: record_submissions
-- the valid rows as evidence (consent_submission, via 'import')
INSERT INTO consent_submission (id, brand_id, via, actor, item_index, recipient_input,
                                consent_date, evidence)
SELECT r.submission_id, $2, 'import', $3, r.row_no, r.recipient_input, r.consent_date,
       jsonb_build_object('import', $1::bigint, 'row', r.row_no)
  FROM consent_import_row r
 WHERE r.import_id = $1 AND r.outcome = 'valid'

-- name: record_events
-- and their events, parked for the import lane (batch_request_id 'import:<id>');
-- received_at is the consent date, as for every channel (inbound/consent_store.py)
INSERT INTO consent_event (id, submission_id, import_id, batch_request_id, brand_id, iys_code,
                           brand_code, recipient, recipient_type, type, status, source,
                           received_at, consent_date, deadline_at)
SELECT r.event_id, r.submission_id, $1, 'import:' || $1::bigint, b.id, b.iys_code,
       b.brand_code, r.recipient, r.recipient_type, r.type, r.status, r.source,
       r.consent_date, r.consent_date, r.deadline_at
  FROM consent_import_row r
  JOIN brand b ON b.id = $2
 WHERE r.import_id = $1 AND r.outcome = 'valid'

-- name: count_rows
SELECT outcome, code, count(*) AS n FROM consent_import_row WHERE import_id = $1
 GROUP BY outcome, code

-- name: stored
UPDATE consent_import
   SET state = CASE WHEN $3::int > 0 THEN 'pushing' ELSE 'finished' END,
       rows_read = $2, rows_valid = $3, rows_refused = $4, rows_duplicate = $5,
       rows_unchanged = $6, refused_by = $7::text::jsonb, stored_at = now(), updated_at = now(),
       finished_at = CASE WHEN $3::int > 0 THEN NULL ELSE now() END
 WHERE id = $1

-- name: get_import
SELECT i.*, b.owner_id AS brand_owner FROM consent_import i JOIN brand b ON b.id = i.brand_id
 WHERE i.id = $1 AND i.brand_id = $2

-- name: list_imports
SELECT * FROM consent_import WHERE brand_id = $1 ORDER BY id DESC LIMIT $2

-- name: event_counts
-- the import's events by state; 'parked' = pending and not sent yet
SELECT CASE WHEN state = 'pending' AND batch_request_id = 'import:' || $1::bigint
            THEN 'parked' ELSE state END AS state,
       count(*) AS n
  FROM consent_event WHERE import_id = $1::bigint
 GROUP BY 1

-- name: lock_import_state
-- The import's state, locked until the cancelling transaction ends.
SELECT state FROM consent_import WHERE id = $1 AND brand_id = $2 FOR UPDATE

-- name: cancel
-- the rows not sent yet are dismissed (a person decided not to send them); rows in flight
-- settle as İYS answers
WITH cancelled AS (
    UPDATE consent_import SET state = 'cancelled', cancelled_at = now(), updated_at = now()
     WHERE id = $1 AND brand_id = $2 AND state = 'pushing'
    RETURNING id
)
UPDATE consent_event e
   SET state = 'dismissed', last_error_code = 'IMPORT_CANCELLED',
       last_error = 'the import was cancelled before this row was sent', batch_request_id = NULL,
       updated_at = now()
  FROM cancelled
 WHERE e.batch_request_id = 'import:' || cancelled.id AND e.state = 'pending'
   AND (e.lease_until IS NULL OR e.lease_until < now())

-- name: result_rows
SELECT r.row_no, r.recipient_input, r.type, r.status, r.source, r.recipient_type,
       r.consent_date_input, r.outcome, r.code, r.reason,
       e.state, e.batch_request_id, e.iys_transaction_id, e.last_error_code, e.last_error,
       c.state_only
  FROM consent_import_row r
  JOIN consent_import c ON c.id = r.import_id
  LEFT JOIN consent_event e ON e.id = r.event_id
 WHERE r.import_id = $1
 ORDER BY r.row_no

-- name: set_state_only
UPDATE consent_import SET state_only = true WHERE id = $1

-- name: is_state_only
SELECT state_only FROM consent_import WHERE id = $1

-- name: brand_code
SELECT brand_code FROM brand WHERE id = $1

-- name: valid_rows
-- a state-only import's rows to seed, one per key (duplicates are marked already)
SELECT recipient, recipient_type, type, status FROM consent_import_row
 WHERE import_id = $1 AND outcome = 'valid'
 ORDER BY recipient_type, type, row_no

-- name: seeded
-- a state-only import: stored and seeded in one transaction, nothing to push
UPDATE consent_import
   SET state = 'finished', finished_at = now(), updated_at = now()
 WHERE id = $1
