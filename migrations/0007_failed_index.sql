-- The failed-events gauge (iys_push.store.FAILED_COUNT, every 5 s in every process) and
-- `events requeue` look for state = 'failed', which no index covered: each gauge update read
-- the whole consent_event table, every event ever received (issue #8: found while reading the
-- push side's queries for statistics-dependent plans). Failed events are few and an event
-- enters this index only when it fails, so it costs nothing on the MO path.
CREATE INDEX consent_event_failed_idx ON consent_event (id) WHERE state = 'failed';
