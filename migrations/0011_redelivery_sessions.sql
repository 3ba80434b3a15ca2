-- Repeats are not redeliveries (issue #24, item 3; inbound/pipeline.py, README
-- "Redeliveries and repeats").
--
-- An identical PDU is taken for the SMSC's redelivery only when the SMSC could be resending
-- it: the session (bind) that received the earlier copy has ended, or the earlier copy was
-- written after the SMSC's response window had passed (so its acknowledgement came late).
-- Both facts are kept per PDU:
--   session_id  the SMPP session that received it (random per bind, smpp_bind/session.py);
--               NULL for rows stored before this migration (their sessions have ended)
--   stored_at   when its row was written, just before the commit after which it is
--               acknowledged; NULL for older rows
-- Both added without a default: no rewrite of the table.
ALTER TABLE sms_in ADD COLUMN session_id bigint;
ALTER TABLE sms_in ADD COLUMN stored_at timestamptz;

-- the batch's sms_in rows carry their session (stored_at is the statement's clock)
ALTER TYPE mo_batch_sms_in ADD ATTRIBUTE session_id bigint;

-- The lookup now takes the latest copy of a PDU, a redelivery included (the SMSC resends the
-- copy it last sent), so the index is no longer partial.
DROP INDEX sms_in_redelivery_idx;
CREATE INDEX sms_in_digest_idx ON sms_in (link, pdu_digest, received_at);
