-- sms_in and iys_attempt partitioned by month (issue #26 item 5, issue #27 item 2).
--
-- Why: the raw PDUs and the İYS attempts are the bulk of what is stored and the only rows
-- kept for years. By month, (1) retention drops a whole month (DROP TABLE: no row-by-row
-- DELETE, no bloat, no WAL per row; inbound/retention.py), and (2) the indexes written on
-- every MO are the current month's: the redelivery lookup's digest index, random by nature,
-- dirties pages of a month's index, not of every month's.
--
-- What changes for the writers and readers:
-- * the primary keys are (id, received_at) and (id, started_at): PostgreSQL requires the
--   partition key in every unique constraint. Ids still come from the same sequences, so
--   id stays unique in practice; a lookup by id probes each month's primary key index.
-- * no foreign key can point at sms_in any more (it would need the partition key): the
--   two that did, sms_part.sms_in_id and sms_in.redelivery_of, are written by the MO batch
--   statement in the same statement as the rows they point at (inbound/store.py), never
--   by anything else.
-- * the redelivery lookup (inbound/store.py _originals) is bounded by received_at >
--   now - redelivery_window, so it reads the last month's partitions only (pruned at
--   execution), each through its digest index.
-- * rows outside every month (a clock far off) land in the DEFAULT partition, never lost.
--   Months are created ahead by the retention job (iys_month_partitions), three at a time.

-- A month's partition of a table partitioned by month, created if missing; its name.
CREATE FUNCTION iys_month_partition(parent regclass, month date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    name text := parent::text || '_' || to_char(first_day, 'YYYYMM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        -- bounds in UTC whatever the session's time zone: the same months for every process
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       name, parent, first_day::timestamp AT TIME ZONE 'UTC',
                       (first_day + interval '1 month')::timestamp AT TIME ZONE 'UTC');
    END IF;
    RETURN name;
END $$;

-- The months from the one holding `since` to `months_ahead` after the current one.
CREATE FUNCTION iys_month_partitions(parent regclass, since timestamptz, months_ahead int)
RETURNS SETOF text LANGUAGE sql AS $$
    SELECT iys_month_partition(parent, m::date)
      FROM generate_series(date_trunc('month', since AT TIME ZONE 'UTC'),
                           date_trunc('month', now() AT TIME ZONE 'UTC')
                               + make_interval(months => months_ahead),
                           interval '1 month') AS m
$$;

-- sms_in ------------------------------------------------------------------------------------
ALTER TABLE sms_part DROP CONSTRAINT sms_part_sms_in_id_fkey;
ALTER TABLE sms_in DROP CONSTRAINT sms_in_redelivery_of_fkey;
ALTER TABLE sms_in RENAME TO sms_in_before_0018;
ALTER INDEX sms_in_pkey RENAME TO sms_in_before_0018_pkey;
ALTER INDEX sms_in_digest_idx RENAME TO sms_in_before_0018_digest_idx;
ALTER INDEX sms_in_message_idx RENAME TO sms_in_before_0018_message_idx;

CREATE TABLE sms_in (LIKE sms_in_before_0018 INCLUDING DEFAULTS INCLUDING STORAGE)
    PARTITION BY RANGE (received_at);
ALTER SEQUENCE sms_in_id_seq OWNED BY sms_in.id;
ALTER TABLE sms_in ADD PRIMARY KEY (id, received_at);
-- the redelivery lookup: a digest's latest copy on a link (inbound/store.py _originals)
CREATE INDEX sms_in_digest_idx ON sms_in (link, pdu_digest, received_at);
-- a message's PDUs (recipient history, assembly of parts)
CREATE INDEX sms_in_message_idx ON sms_in (message_id);
CREATE TABLE sms_in_default PARTITION OF sms_in DEFAULT;
SELECT iys_month_partitions('sms_in',
                            COALESCE((SELECT min(received_at) FROM sms_in_before_0018), now()), 2);
INSERT INTO sms_in SELECT * FROM sms_in_before_0018;
DROP TABLE sms_in_before_0018;
ALTER TABLE sms_in ADD FOREIGN KEY (message_id) REFERENCES mo_message (id)
    DEFERRABLE INITIALLY DEFERRED;

-- iys_attempt -------------------------------------------------------------------------------
ALTER TABLE iys_attempt RENAME TO iys_attempt_before_0018;
ALTER INDEX iys_attempt_pkey RENAME TO iys_attempt_before_0018_pkey;
ALTER INDEX iys_attempt_event_idx RENAME TO iys_attempt_before_0018_event_idx;
ALTER INDEX iys_attempt_egress_window_idx RENAME TO iys_attempt_before_0018_egress_window_idx;
CREATE TABLE iys_attempt (LIKE iys_attempt_before_0018 INCLUDING DEFAULTS INCLUDING STORAGE)
    PARTITION BY RANGE (started_at);
ALTER SEQUENCE iys_attempt_id_seq OWNED BY iys_attempt.id;
ALTER TABLE iys_attempt ADD PRIMARY KEY (id, started_at);
CREATE INDEX iys_attempt_event_idx ON iys_attempt (event_id);
CREATE INDEX iys_attempt_egress_window_idx ON iys_attempt (egress, started_at)
    INCLUDE (http_status);
CREATE TABLE iys_attempt_default PARTITION OF iys_attempt DEFAULT;
SELECT iys_month_partitions('iys_attempt',
                            COALESCE((SELECT min(started_at) FROM iys_attempt_before_0018),
                                     now()), 2);
INSERT INTO iys_attempt SELECT * FROM iys_attempt_before_0018;
DROP TABLE iys_attempt_before_0018;
ALTER TABLE iys_attempt ADD FOREIGN KEY (event_id) REFERENCES consent_event (id);

-- The evidence kept when a month goes (inbound/retention.py): the PDUs and attempts of every
-- event that is its key's current movement, or whose consent ended less than the retention
-- period ago, copied here before their month is dropped; removed when that period has passed
-- after the consent's end. Same columns as the tables they come from, plus when they were
-- copied.
CREATE TABLE sms_in_kept (LIKE sms_in INCLUDING DEFAULTS, kept_at timestamptz NOT NULL DEFAULT now(),
                          PRIMARY KEY (id));
CREATE INDEX sms_in_kept_message_idx ON sms_in_kept (message_id);
CREATE TABLE iys_attempt_kept (LIKE iys_attempt INCLUDING DEFAULTS,
                               kept_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id));
CREATE INDEX iys_attempt_kept_event_idx ON iys_attempt_kept (event_id);
