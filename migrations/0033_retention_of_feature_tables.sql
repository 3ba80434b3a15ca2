-- Retention of the tables #29-#32 added (inbound/retention_tables.py; README "Retention").
-- Only the deletes that would otherwise scan a growing table get an index, and a BRIN one:
-- these tables are written in time order (webhook_event by the hot path's trigger, minting
-- by COPY), so a few pages of summary find the old rows and the writers pay next to nothing.
CREATE INDEX webhook_event_created_brin ON webhook_event USING brin (created_at);
CREATE INDEX webhook_attempt_at_brin ON webhook_attempt USING brin (at);
CREATE INDEX consent_link_expires_brin ON consent_link USING brin (expires_at);
-- A link is evidence while a submission records a tap on it (actor 'link:<id>'): the check
-- before deleting an expired link looks here; only link submissions are in it.
CREATE INDEX consent_submission_link_actor_idx ON consent_submission (actor)
    WHERE via = 'link';
