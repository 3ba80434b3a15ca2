-- The MO batch's rows as three arrays of composite values instead of 37 column arrays
-- (issue #8, throughput; inbound/store.py INSERT_BATCH).
--
-- Why: asyncpg checks every element of an array parameter against collections.abc
-- (a Python-level isinstance call each) before encoding it, so 37 column arrays cost the
-- service 37 checks a PDU; an array of rows costs two a row, i.e. six a PDU. Measured on
-- batches of 17 "RET ACME" PDUs: encoding 19 -> 12.5 us a PDU in the service, and
-- PostgreSQL's decoding of the sms_in rows 5.7 -> 4.2 us a PDU (one record_recv a row
-- instead of sixteen array_recv walks).
--
-- Each type lists its table's columns in the order of the pipeline's tuples
-- (inbound/pipeline.py _sms_in_record, _record_message, _events). A negative id stands for
-- an id the statement allocates (see INSERT_BATCH). These types are the statement's wire
-- format, not tables: change them only together with the statement and the tuples.
CREATE TYPE mo_batch_sms_in AS (
    id               bigint,
    received_at      timestamptz,
    command          text,
    sequence         bigint,
    pdu              bytea,
    pdu_digest       bytea,
    fields           text,                        -- JSON text, cast to jsonb on insert
    source_addr      text,
    sender           text,
    destination_addr text,
    kind             text,
    data_coding      integer,
    encoding         text,
    text             text,
    redelivery_of    bigint,
    message_id       bigint
);

CREATE TYPE mo_batch_message AS (
    id               bigint,
    received_at      timestamptz,
    completed_at     timestamptz,
    sender           text,
    source_addr      text,
    destination_addr text,
    text             text,
    normalized       text,
    outcome          text,
    reason           text
);

CREATE TYPE mo_batch_event AS (
    message_id       bigint,
    brand_id         text,
    iys_code         bigint,
    brand_code       bigint,
    recipient        text,
    recipient_type   text,
    type             text,
    status           text,
    source           text,
    received_at      timestamptz,
    deadline_at      timestamptz
);
