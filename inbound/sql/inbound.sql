-- The inbound side's SQL (package inbound): the MO batch, concatenated parts, replies, the
-- keyword configuration, links, the review queue, migrations. Loaded once by
-- inbound.sqlfile (each block from its "-- name:" line to the next is one statement, sent as
-- written; the comment lines right after the name are not sent). Values always travel as
-- parameters ($1, $2 ...); no statement is built from data or from pieces.

-- == the MO batch (inbound/pipeline.py) ==

-- name: prepare_mo_batch
-- The first of the two statements of a batch with concatenated parts or replies (those need
-- real ids in Python, and the parts waiting from earlier batches): the earlier copies of its
-- PDUs (as in insert_new_mo_batch, here from the digests $2 and window start $3), $4 sms_in
-- ids and $5 mo_message ids, the replies written since $7 to the recipients $6 (as
-- recent_replies; empty on a link that does not reply) and the parts still waiting of the
-- concatenation keys $8 (as waiting_parts, by key and position), in one round trip. Reads
-- and nextval only, so it needs no transaction: what it reads cannot change before the
-- batch's write_mo_batch, because the batches of a link that share a digest or a sender wait
-- for each other (inbound/pipeline.py) and one process owns a link; the parts are the
-- exception (another process's incomplete-part sweep), which write_mo_batch checks.
-- The earlier copies of a batch's PDUs: "o" below is the one definition of "an earlier copy
-- of this PDU" that prepare_mo_batch and insert_new_mo_batch share (they differ only in where
-- the digests come from and which parameter starts the redelivery window). The latest earlier
-- copy of each digest on this link (a redelivery or a repeat; inbound/redelivery.py decides
-- which, README "Redeliveries and repeats") is looked up digest by digest (LATERAL): given
-- pdu_digest = ANY(...) the planner used the index for link and time only and filtered every
-- row of the window. Per copy:
--   original_id     the first copy, which a redelivery points at
--   session_id      the SMPP session that received the copy
--   received_at     when it was received
--   answered_after  seconds from its receipt to the write of its row, which its answer
--                   follows at once (NULL for rows from before migrations/0011)
--   event_since     whether an event for the same recipient and brand as the original's
--                   events came in after the copy (the rows involved are few: one
--                   person's messages, through consent_event_key_idx, led by the recipient)
-- The copies found come back as one array per column, in the order of their digests
-- (inbound.writer.copies_of).
WITH
o AS (
    SELECT d.digest, c.original_id, c.session_id, c.received_at, c.answered_after,
           c.event_since
      FROM unnest($2::bytea[]) AS d(digest)
      CROSS JOIN LATERAL (
            SELECT COALESCE(s.redelivery_of, s.id) AS original_id, s.session_id,
                   s.received_at,
                   extract(epoch FROM s.stored_at - s.received_at)::float8 AS answered_after,
                   EXISTS (SELECT 1
                             FROM sms_in first_copy
                             JOIN consent_event mine ON mine.message_id = first_copy.message_id
                             JOIN consent_event later ON later.brand_id = mine.brand_id
                                                     AND later.recipient = mine.recipient
                            WHERE first_copy.id = COALESCE(s.redelivery_of, s.id)
                              AND later.received_at > s.received_at) AS event_since
              FROM sms_in s
             WHERE s.link = $1 AND s.pdu_digest = d.digest AND s.received_at > $3
             ORDER BY s.received_at DESC, s.id DESC LIMIT 1) AS c),
r AS MATERIALIZED (
    SELECT recipient, source_addr, kind, created_at
      FROM sms_out
     WHERE recipient = ANY($6::text[]) AND created_at > $7 AND kind <> 'otp')
SELECT ARRAY(SELECT nextval('sms_in_id_seq') FROM generate_series(1, $4)) AS sms_in_ids,
       ARRAY(SELECT nextval('mo_message_id_seq') FROM generate_series(1, $5)) AS message_ids,
       ARRAY(SELECT digest FROM o ORDER BY digest) AS original_digests,
       ARRAY(SELECT original_id FROM o ORDER BY digest) AS original_ids,
       ARRAY(SELECT session_id FROM o ORDER BY digest) AS original_sessions,
       ARRAY(SELECT received_at FROM o ORDER BY digest) AS original_received,
       ARRAY(SELECT answered_after FROM o ORDER BY digest) AS original_answered_after,
       ARRAY(SELECT event_since FROM o ORDER BY digest) AS original_event_since,
       ARRAY(SELECT (recipient, source_addr, kind, created_at) FROM r) AS recent_replies,
       ARRAY(SELECT (p.sms_in_id, p.concat_key, p.part_no, p.total, p.payload, p.data_coding,
                     p.locking_shift, p.single_shift, p.received_at, p.message_id)::mo_batch_part
               FROM sms_part p
              WHERE p.link = $1 AND p.concat_key = ANY($8::text[]) AND p.message_id IS NULL
              ORDER BY p.concat_key, p.part_no) AS waiting_parts

-- name: write_mo_batch
-- A batch's rows in one statement, its own transaction (atomic: all or nothing, one commit):
-- every table from an array of rows (unnest). $1 the link; $2, $3, $4 the sms_in,
-- mo_message and consent_event rows as arrays of the composite types of migrations/0009
-- (one array of rows each, not one array per column); $5 the concatenation parts to keep
-- (mo_batch_part, migrations/0038); $6 and $7 the waiting parts (their sms_in ids) that this
-- batch completes and the message each is given; $8 the replies to send (mo_batch_reply).
-- A plain batch whose first statement found earlier copies of its PDUs comes here with the
-- last four empty; a batch with parts or replies after prepare_mo_batch.
-- No NOTIFY here: PostgreSQL serialises the commits of all transactions that NOTIFY, which
-- undoes group commit; the pipeline tells the pushers after the commit.
-- Foreign keys between the sub-statements are checked at the end of the statement; the
-- events' brands, which have no foreign key (migrations/0005), by an EXISTS subquery planned
-- with the statement; only when a brand is missing does it call iys_brand_missing, which
-- fails the statement with the foreign key's error code (0008). A waiting part taken
-- meanwhile (claimed counts fewer than $6) fails it through iys_parts_taken (0038).
-- Ids: a positive id is used as it is; -k stands for the k-th new sms_in or mo_message id
-- allocated here (in arrival order), wherever a row refers to one (a plain batch; a
-- prepared batch's ids are all real). The new ids are counted from the rows' own ids: a
-- count parameter made every execution a custom plan. Ids are allocated inside the writing
-- statement: nextval WAL-logs every 32 values and gives its transaction an xid, so a
-- separate allocating statement would cost a WAL flush of its own.
WITH
sid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('sms_in_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($2::mo_batch_sms_in[]) AS r WHERE r.id < 0)))
           AS ids),
mid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('mo_message_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($3::mo_batch_message[]) AS r WHERE r.id < 0)))
           AS ids),
s AS (
    INSERT INTO sms_in (id, link, received_at, command, sequence, pdu, pdu_digest, fields,
                        source_addr, sender, destination_addr, kind, data_coding, encoding,
                        text, redelivery_of, message_id, session_id, stored_at)
    SELECT CASE WHEN t.id < 0 THEN sid.ids[-t.id] ELSE t.id END, $1, t.received_at, t.command,
           t.sequence, t.pdu, t.pdu_digest, t.fields::jsonb, t.source_addr, t.sender,
           t.destination_addr, t.kind, t.data_coding, t.encoding, t.text,
           CASE WHEN t.redelivery_of < 0 THEN sid.ids[-t.redelivery_of] ELSE t.redelivery_of END,
           CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.session_id, clock_timestamp()
      FROM unnest($2::mo_batch_sms_in[]) AS t, sid, mid
    RETURNING 1),
m AS (
    INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                            destination_addr, text, normalized, outcome, reason)
    SELECT CASE WHEN t.id < 0 THEN mid.ids[-t.id] ELSE t.id END, $1, t.received_at,
           t.completed_at, t.sender, t.source_addr, t.destination_addr, t.text, t.normalized,
           t.outcome, t.reason
      FROM unnest($3::mo_batch_message[]) AS t, mid
    RETURNING 1),
e AS (
    INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                               recipient_type, type, status, source, received_at,
                               consent_date, deadline_at, state)
    SELECT CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.brand_id, t.iys_code, t.brand_code, t.recipient, t.recipient_type, t.type,
           t.status, t.source, t.received_at, t.received_at, t.deadline_at, t.state
      FROM unnest($4::mo_batch_event[]) AS t, mid
    RETURNING 1),
-- the batch's parts: a waiting one (message_id NULL) until its message is complete, or
-- already given the message the batch completes with it (kept as that message's part)
p AS (
    INSERT INTO sms_part (sms_in_id, link, concat_key, part_no, total, payload, data_coding,
                          locking_shift, single_shift, received_at, message_id)
    SELECT t.sms_in_id, $1, t.concat_key, t.part_no, t.total, t.payload, t.data_coding,
           t.locking_shift, t.single_shift, t.received_at, t.message_id
      FROM unnest($5::mo_batch_part[]) AS t
    RETURNING 1),
-- earlier batches' parts of the messages this one completes: their part and PDU rows get
-- the message (only while still waiting: see iys_parts_taken below)
claimed AS (
    UPDATE sms_part p SET message_id = c.message_id
      FROM unnest($6::bigint[], $7::bigint[]) AS c(sms_in_id, message_id)
     WHERE p.sms_in_id = c.sms_in_id AND p.message_id IS NULL
    RETURNING p.sms_in_id, p.message_id),
claimed_pdus AS (
    UPDATE sms_in s SET message_id = claimed.message_id
      FROM claimed
     WHERE s.id = claimed.sms_in_id
    RETURNING 1),
r AS (
    INSERT INTO sms_out (message_id, link, recipient, source_addr, text, kind)
    SELECT t.message_id, $1, t.recipient, t.number, t.text, t.kind
      FROM unnest($8::mo_batch_reply[]) AS t
    RETURNING 1)
SELECT (SELECT count(*) FROM s) AS sms_in, (SELECT count(*) FROM m) AS messages,
       (SELECT count(*) FROM e) AS events, (SELECT count(*) FROM p) AS parts,
       (SELECT count(*) FROM claimed_pdus) AS claimed_pdus, (SELECT count(*) FROM r) AS replies,
       CASE WHEN EXISTS (SELECT 1 FROM unnest($4::mo_batch_event[]) AS b
                          WHERE NOT EXISTS (SELECT 1 FROM brand WHERE brand.id = b.brand_id))
            THEN iys_brand_missing(ARRAY(SELECT brand_id FROM unnest($4::mo_batch_event[])))
            ELSE true END AS brands_exist,
       CASE WHEN (SELECT count(*) FROM claimed) < cardinality($6::bigint[])
            THEN iys_parts_taken($6::bigint[])
            ELSE true END AS parts_claimed

-- name: insert_new_mo_batch
-- A plain batch (no parts, no replies) in one round trip: write_mo_batch (without parts,
-- claims and replies) that first looks for earlier copies of its PDUs (the digests of $2; $5 the start of the redelivery window)
-- and writes nothing when it finds one, returning them instead (the last six columns, see
-- prepare_mo_batch). Copies are rare (a redelivery after a reconnect, a person repeating a
-- message): the pipeline then builds the batch again knowing them and stores it with
-- write_mo_batch. The lookup sees the rows committed when the statement began (a batch
-- waits for the earlier ones of its link that share a digest).
WITH
o AS (
    SELECT d.digest, c.original_id, c.session_id, c.received_at, c.answered_after,
           c.event_since
      FROM (SELECT pdu_digest AS digest FROM unnest($2::mo_batch_sms_in[])) AS d
      CROSS JOIN LATERAL (
            SELECT COALESCE(s.redelivery_of, s.id) AS original_id, s.session_id,
                   s.received_at,
                   extract(epoch FROM s.stored_at - s.received_at)::float8 AS answered_after,
                   EXISTS (SELECT 1
                             FROM sms_in first_copy
                             JOIN consent_event mine ON mine.message_id = first_copy.message_id
                             JOIN consent_event later ON later.brand_id = mine.brand_id
                                                     AND later.recipient = mine.recipient
                            WHERE first_copy.id = COALESCE(s.redelivery_of, s.id)
                              AND later.received_at > s.received_at) AS event_since
              FROM sms_in s
             WHERE s.link = $1 AND s.pdu_digest = d.digest AND s.received_at > $5
             ORDER BY s.received_at DESC, s.id DESC LIMIT 1) AS c),
sid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('sms_in_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($2::mo_batch_sms_in[]) AS r WHERE r.id < 0)))
           AS ids),
mid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('mo_message_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($3::mo_batch_message[]) AS r WHERE r.id < 0)))
           AS ids),
s AS (
    INSERT INTO sms_in (id, link, received_at, command, sequence, pdu, pdu_digest, fields,
                        source_addr, sender, destination_addr, kind, data_coding, encoding,
                        text, redelivery_of, message_id, session_id, stored_at)
    SELECT CASE WHEN t.id < 0 THEN sid.ids[-t.id] ELSE t.id END, $1, t.received_at, t.command,
           t.sequence, t.pdu, t.pdu_digest, t.fields::jsonb, t.source_addr, t.sender,
           t.destination_addr, t.kind, t.data_coding, t.encoding, t.text,
           CASE WHEN t.redelivery_of < 0 THEN sid.ids[-t.redelivery_of] ELSE t.redelivery_of END,
           CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.session_id, clock_timestamp()
      FROM unnest($2::mo_batch_sms_in[]) AS t, sid, mid
     WHERE NOT EXISTS (SELECT 1 FROM o)
    RETURNING 1),
m AS (
    INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                            destination_addr, text, normalized, outcome, reason)
    SELECT CASE WHEN t.id < 0 THEN mid.ids[-t.id] ELSE t.id END, $1, t.received_at,
           t.completed_at, t.sender, t.source_addr, t.destination_addr, t.text, t.normalized,
           t.outcome, t.reason
      FROM unnest($3::mo_batch_message[]) AS t, mid
     WHERE NOT EXISTS (SELECT 1 FROM o)
    RETURNING 1),
e AS (
    INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                               recipient_type, type, status, source, received_at,
                               consent_date, deadline_at, state)
    SELECT CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.brand_id, t.iys_code, t.brand_code, t.recipient, t.recipient_type, t.type,
           t.status, t.source, t.received_at, t.received_at, t.deadline_at, t.state
      FROM unnest($4::mo_batch_event[]) AS t, mid
     WHERE NOT EXISTS (SELECT 1 FROM o)
    RETURNING 1)
SELECT (SELECT count(*) FROM s) AS sms_in, (SELECT count(*) FROM m) AS messages,
       (SELECT count(*) FROM e) AS events,
       CASE WHEN EXISTS (SELECT 1 FROM unnest($4::mo_batch_event[]) AS b
                          WHERE NOT EXISTS (SELECT 1 FROM brand WHERE brand.id = b.brand_id))
            THEN iys_brand_missing(ARRAY(SELECT brand_id FROM unnest($4::mo_batch_event[])))
            ELSE true END AS brands_exist,
       ARRAY(SELECT digest FROM o ORDER BY digest) AS original_digests,
       ARRAY(SELECT original_id FROM o ORDER BY digest) AS original_ids,
       ARRAY(SELECT session_id FROM o ORDER BY digest) AS original_sessions,
       ARRAY(SELECT received_at FROM o ORDER BY digest) AS original_received,
       ARRAY(SELECT answered_after FROM o ORDER BY digest) AS original_answered_after,
       ARRAY(SELECT event_since FROM o ORDER BY digest) AS original_event_since

-- name: due_replies
WITH due AS (
    SELECT id FROM sms_out
     WHERE link = $1 AND state = 'pending' AND next_attempt_at <= now()
     ORDER BY id
     LIMIT $2
       FOR UPDATE SKIP LOCKED)
UPDATE sms_out s
   SET attempts = s.attempts + 1, next_attempt_at = now() + interval '5 minutes'
  FROM due WHERE s.id = due.id
RETURNING s.id, s.source_addr, s.recipient, s.text

-- name: reply_sent
UPDATE sms_out SET state = 'sent', sent_at = now(), smsc_message_ids = $2, last_error = NULL
 WHERE id = $1

-- name: reply_failed
UPDATE sms_out
   SET state = CASE WHEN $3::float8 IS NULL OR attempts >= 5 THEN 'failed' ELSE 'pending' END,
       next_attempt_at = now() + make_interval(secs => COALESCE($3::float8, 0)),
       last_error = $2
 WHERE id = $1

-- name: stale_part_keys
SELECT link, concat_key, min(received_at) AS first_at
  FROM sms_part
 WHERE message_id IS NULL
 GROUP BY link, concat_key
HAVING min(received_at) < $1
 LIMIT 100

-- name: load_brands
SELECT id, name, aliases, iys_code, brand_code, settings FROM brand ORDER BY id

-- name: load_numbers
SELECT msisdn, shared, brand_id, settings FROM number ORDER BY msisdn

-- name: notify_rules
SELECT pg_notify('iys_rules', '')

-- name: upsert_link_state
INSERT INTO link (name, state, owner, bound_at, updated_at)
VALUES ($1, $2, $3, CASE WHEN $2 = 'bound' THEN now() END, now())
ON CONFLICT (name) DO UPDATE
   SET state = EXCLUDED.state, owner = EXCLUDED.owner, updated_at = now(),
       bound_at = CASE WHEN EXCLUDED.state = 'bound' THEN now() ELSE link.bound_at END

-- name: recent_events
SELECT e.id, e.brand_id, e.recipient, e.recipient_type, e.type, e.status, e.state,
       e.received_at, e.deadline_at, e.attempts, e.iys_transaction_id, e.iys_creation_date,
       e.last_error_code, e.last_error, e.updated_at, m.destination_addr, m.text
  FROM consent_event e JOIN mo_message m ON m.id = e.message_id
 ORDER BY e.id DESC
 LIMIT $1

-- name: recent_messages
SELECT id, link, received_at, sender, destination_addr, text, outcome, reason
  FROM mo_message ORDER BY id DESC LIMIT $1

-- == the review queue (inbound/reviews.py) ==

-- name: open_review_items
-- a brand's open items, oldest first, i.e. the nearest deadline first (a deadline only grows
-- with the receipt time); $2: the cursor (the last id of the previous page), $3: page size
SELECT
       e.id, e.message_id, e.brand_id, e.recipient, e.recipient_type, e.type, e.status,
       e.state, e.received_at, e.consent_date, e.deadline_at,
       e.received_at + (e.deadline_at - e.received_at) * 0.9 AS auto_ret_at,
       GREATEST(EXTRACT(EPOCH FROM e.deadline_at - now()), 0)::float8 AS seconds_left,
       e.review_decision, e.reviewed_at, e.reviewed_by,
       m.text, m.destination_addr, m.reason,
       (b.settings -> 'review_auto_ret') IS DISTINCT FROM 'false'::jsonb AS auto_ret

  FROM consent_event e
  JOIN mo_message m ON m.id = e.message_id
  JOIN brand b ON b.id = e.brand_id
 WHERE e.state = 'review' AND e.brand_id = $1
   AND ($2::bigint IS NULL OR e.id > $2)
 ORDER BY e.id
 LIMIT $3

-- name: review_item
SELECT
       e.id, e.message_id, e.brand_id, e.recipient, e.recipient_type, e.type, e.status,
       e.state, e.received_at, e.consent_date, e.deadline_at,
       e.received_at + (e.deadline_at - e.received_at) * 0.9 AS auto_ret_at,
       GREATEST(EXTRACT(EPOCH FROM e.deadline_at - now()), 0)::float8 AS seconds_left,
       e.review_decision, e.reviewed_at, e.reviewed_by,
       m.text, m.destination_addr, m.reason,
       (b.settings -> 'review_auto_ret') IS DISTINCT FROM 'false'::jsonb AS auto_ret

  FROM consent_event e
  JOIN mo_message m ON m.id = e.message_id
  JOIN brand b ON b.id = e.brand_id
 WHERE e.id = $1 AND e.brand_id = $2

-- name: decide_review
-- $3: the new state, $4: the decision, $5: who. consent_date is left as it was: the receipt
-- time of the message, as for any RET received then.
UPDATE consent_event
   SET state = $3, review_decision = $4, reviewed_at = now(), reviewed_by = $5,
       next_attempt_at = now(), updated_at = now()
 WHERE id = $1 AND brand_id = $2 AND state = 'review'
RETURNING id

-- name: brand_owner
SELECT owner_id FROM brand WHERE id = $1

-- name: auto_ret
-- The automatic RET: every item past 90 % of its window whose brand did not opt out, at most
-- $1 a statement; SKIP LOCKED so that several processes (and a person confirming meanwhile)
-- never decide one item twice. Each decided item gets its audit row in the same statement.
WITH due AS (
    SELECT e.id
      FROM consent_event e JOIN brand b ON b.id = e.brand_id
     WHERE e.state = 'review'
       AND now() >= e.received_at + (e.deadline_at - e.received_at) * 0.9
       AND (b.settings -> 'review_auto_ret') IS DISTINCT FROM 'false'::jsonb
     ORDER BY e.deadline_at, e.id
     LIMIT $1
       FOR UPDATE OF e SKIP LOCKED),
done AS (
    UPDATE consent_event e
       SET state = 'pending', review_decision = 'automatic', reviewed_at = now(),
           reviewed_by = 'system', next_attempt_at = now(), updated_at = now()
      FROM due WHERE e.id = due.id AND e.state = 'review'
    RETURNING e.id, e.brand_id, e.status, e.type, e.received_at, e.deadline_at,
              e.consent_date, e.reviewed_at),
audited AS (
    INSERT INTO config_audit (actor_token_id, actor_owner_id, actor_admin, action, resource,
                              resource_id, owner_ids, before, after)
    SELECT NULL, NULL, false, 'auto_confirm', 'review', d.id::text,
           CASE WHEN b.owner_id IS NULL THEN '{}'::bigint[] ELSE ARRAY[b.owner_id] END,
           jsonb_build_object('state', 'review'),
           jsonb_build_object('state', 'pending', 'review_decision', 'automatic',
                              'reviewed_by', 'system', 'actor', 'system',
                              'brand_id', d.brand_id, 'status', d.status, 'type', d.type,
                              'received_at', d.received_at, 'deadline_at', d.deadline_at,
                              'consent_date', d.consent_date, 'reviewed_at', d.reviewed_at)
      FROM done d JOIN brand b ON b.id = d.brand_id
    RETURNING 1)
SELECT d.id, d.brand_id FROM done d   -- "audited" runs all the same (a data-modifying WITH)

-- name: review_gauges
SELECT count(*) AS pending,
       count(*) FILTER (WHERE now() > received_at + (deadline_at - received_at) * 0.5)
           AS past_half,
       EXTRACT(EPOCH FROM min(deadline_at) - now())::float8 AS nearest_deadline
  FROM consent_event
 WHERE state = 'review'

-- name: insert_review_audit
-- the audit row of a person's review decision, in the decision's transaction
INSERT INTO config_audit (actor_token_id, actor_owner_id, actor_admin, action, resource,
                          resource_id, owner_ids, before, after, actor_user_id, actor_via)
VALUES ($1, $2, $3, $4, 'review', $5, $6, $7, $8, $9, $10)

-- name: sms_in_pdu
-- the raw PDU of a stored part (an incomplete message is decoded from its first part)
SELECT pdu FROM sms_in WHERE id = $1

-- name: count_numbers
-- an empty configuration is seeded from the rules file (inbound.service.ensure_rules)
SELECT count(*) FROM number

-- name: all_brand_ids
SELECT id FROM brand

-- name: delete_numbers
DELETE FROM number

-- name: upsert_brand
INSERT INTO brand (id, name, aliases, iys_code, brand_code, settings, owner_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (id) DO UPDATE SET name = $2, aliases = $3, iys_code = $4, brand_code = $5,
                               settings = $6, owner_id = COALESCE($7, brand.owner_id),
                               updated_at = now()

-- name: delete_brand_without_events
-- brands that have events stay (the evidence refers to them)
DELETE FROM brand b
 WHERE b.id = $1
   AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.brand_id = b.id)

-- name: insert_number
INSERT INTO number (msisdn, shared, brand_id, settings) VALUES ($1, $2, $3, $4)

-- name: try_link_lock
-- the link's ownership: a session-level advisory lock held by the owning process
SELECT pg_try_advisory_lock($1, $2)

-- name: ping
-- proves a connection still answers (health check, dedicated connections)
SELECT 1

-- name: migration_lock
SELECT pg_advisory_xact_lock($1)

-- name: create_schema_migrations
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now())

-- name: applied_migrations
SELECT version FROM schema_migrations

-- name: record_migration
INSERT INTO schema_migrations (version) VALUES ($1)

-- == retention (inbound/retention.py) ==

-- name: retention_ended_events
-- The events received in [$3, $5) whose consent ended before $1 (a later movement of the key
-- received before it), oldest first, at most $2. The pass walks time in windows of
-- retention.WINDOW: each a range of consent_event_received_brin, sorted, however old the table.
SELECT e.id, e.message_id, e.received_at
  FROM consent_event e
 WHERE e.received_at >= $3 AND e.received_at < $5
   AND EXISTS (SELECT 1 FROM consent_event l
                WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                    = (e.recipient, e.brand_code, e.recipient_type, e.type)
                  AND l.state = ANY($4::text[]) AND l.received_at < $1
                  AND (l.received_at, l.id) > (e.received_at, e.id))
 ORDER BY e.received_at
 LIMIT $2

-- name: retention_messages_without_consent
-- The messages that made no event, received before $1, at most $2.
SELECT m.id FROM mo_message m
 WHERE m.received_at < $1 AND m.outcome <> 'consent'
   AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.message_id = m.id)
 ORDER BY m.received_at
 LIMIT $2

-- name: retention_delete_attempts
DELETE FROM iys_attempt WHERE event_id = ANY($1::bigint[])

-- name: retention_delete_kept_attempts
DELETE FROM iys_attempt_kept WHERE event_id = ANY($1::bigint[])

-- name: retention_delete_events
DELETE FROM consent_event WHERE id = ANY($1::bigint[])

-- name: retention_orphaned_messages
-- a message goes with its last event (one message may carry events of several brands)
SELECT m FROM unnest($1::bigint[]) AS m
 WHERE NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.message_id = m)

-- name: retention_delete_sms_in
DELETE FROM sms_in WHERE message_id = ANY($1::bigint[])

-- name: retention_delete_sms_in_kept
DELETE FROM sms_in_kept WHERE message_id = ANY($1::bigint[])

-- name: retention_delete_sms_part
DELETE FROM sms_part WHERE message_id = ANY($1::bigint[])

-- name: retention_delete_sms_out
DELETE FROM sms_out WHERE message_id = ANY($1::bigint[])

-- name: retention_delete_mo_message
DELETE FROM mo_message WHERE id = ANY($1::bigint[])

-- name: retention_months
-- the months of a table partitioned by month, with their upper bounds
SELECT c.relname AS name,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
           AS upper_bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = $1::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
 ORDER BY 2

-- name: retention_keep_pdus
-- Before a month of sms_in goes: the PDUs of every event still kept (its key's current
-- movement, or ended after $1: no later movement of the key received before $1). {month} is
-- the month's table, an identifier quoted by retention._quoted (a name, never data).
INSERT INTO sms_in_kept
SELECT s.*, now() FROM {month} s
 WHERE EXISTS (SELECT 1 FROM consent_event e
                WHERE e.message_id = s.message_id
                  AND NOT EXISTS (SELECT 1 FROM consent_event l
                                   WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                                       = (e.recipient, e.brand_code, e.recipient_type, e.type)
                                     AND l.state = ANY($2::text[]) AND l.received_at < $1
                                     AND (l.received_at, l.id) > (e.received_at, e.id)))
ON CONFLICT (id) DO NOTHING

-- name: retention_keep_attempts
-- the same for a month of iys_attempt
INSERT INTO iys_attempt_kept
SELECT a.*, now() FROM {month} a
  JOIN consent_event e ON e.id = a.event_id
 WHERE NOT EXISTS (SELECT 1 FROM consent_event l
                    WHERE (l.recipient, l.brand_code, l.recipient_type, l.type)
                        = (e.recipient, e.brand_code, e.recipient_type, e.type)
                      AND l.state = ANY($2::text[]) AND l.received_at < $1
                      AND (l.received_at, l.id) > (e.received_at, e.id))
ON CONFLICT (id) DO NOTHING

-- name: retention_lock_timeout
-- Dropping a month takes a brief exclusive lock on the parent: give way rather than hold
-- up MOs.
SET LOCAL lock_timeout = '5s'

-- name: retention_drop_month
-- {month}: the month's table, quoted by the caller (retention._quoted); a table's name
-- cannot travel as a parameter.
DROP TABLE {month}

-- name: retention_partitions_ahead
-- this month's and the next $2 months' partitions of table $1 (migrations/0018)
SELECT iys_month_partitions($1, now(), $2)

-- name: retention_cutoff
SELECT now() - $1::interval

-- name: retention_first_received
-- the receipt time of the oldest event: ids are in time order, so the first rows of the
-- primary key have it (the smallest of the first hundred: a message may be stored a little
-- after a later one)
SELECT min(received_at) FROM (SELECT received_at FROM consent_event ORDER BY id LIMIT 100) AS first

-- name: retention_lock
-- one retention batch at a time, in every process
SELECT pg_advisory_xact_lock($1)
