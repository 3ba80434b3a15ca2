-- A batch with concatenated parts or replies in two statements, not nine (issue #26: the mixed
-- row of `make bench`). prepare_mo_batch reads what the batch depends on (earlier copies,
-- the waiting parts of its keys, recent replies) and allocates its ids; write_mo_batch then
-- writes everything in one statement, its own transaction (inbound/sql/inbound.sql).
--
-- These two types are that statement's wire format for the new parts and the replies, like
-- the types of migrations/0009 for the other rows (inbound/rows.py PartRow and ReplyRow list
-- the same attributes in the same order; tests/test_migrations.py checks it).
CREATE TYPE mo_batch_part AS (
    sms_in_id     bigint,
    concat_key    text,
    part_no       integer,
    total         integer,
    payload       bytea,
    data_coding   integer,
    locking_shift integer,
    single_shift  integer,
    received_at   timestamptz,
    message_id    bigint          -- the message this batch completes with it, or NULL: waits
);

CREATE TYPE mo_batch_reply AS (
    message_id bigint,
    recipient  text,
    number     text,              -- the number the recipient wrote to: the reply's source
    text       text,
    kind       text
);

-- write_mo_batch gives waiting parts (read by prepare_mo_batch) to the message they complete
-- only while they are still waiting. If one was taken meanwhile (the incomplete-part sweep of
-- another process), the batch must not be stored with a message built from it: this fails
-- the statement, its PDUs are answered with an error and the SMSC delivers them again.
CREATE FUNCTION iys_parts_taken(sms_in_ids bigint[]) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'concatenation parts % were taken by another writer', sms_in_ids
          USING ERRCODE = 'serialization_failure';
END $$;
