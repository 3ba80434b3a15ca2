-- Reads that stay fast at 10 million events (issue #27 item 4, item 3's counts;
-- docs/DESIGN-NOTES.md "At 10 million messages").

-- 1. A tally of events per brand, day (Turkish time), status and state, kept by statement
--    triggers: the events-per-day chart (30 days: ~830,000 events counted at 10M) and the
--    backlog/failed gauges read a few hundred rows instead of the events.
--    Contention-free: the triggers only INSERT signed deltas (one row per group a statement
--    changed), never update a shared counter row, so two MO batches committing at once never
--    wait on each other's counter; a reader sums the deltas. iys_tally_compact() (the pusher's
--    gauge loop) folds each group's deltas into one row. Statement-level with transition
--    tables: one INSERT per MO batch statement, not one per event. Not fired with
--    session_replication_role = replica (bench/bigdata.py's loader): iys_tally_rebuild()
--    counts from scratch.
CREATE TABLE consent_event_tally (
    brand_id  text NOT NULL,
    day       date NOT NULL,      -- received_at in Europe/Istanbul
    status    text NOT NULL,
    state     text NOT NULL,
    n         bigint NOT NULL
);
-- the chart (a brand's days) and the compaction's groups
CREATE INDEX consent_event_tally_day_idx ON consent_event_tally (brand_id, day, status, state);
-- the gauges: how many are pending / failed, whatever the day
CREATE INDEX consent_event_tally_state_idx ON consent_event_tally (state);

CREATE FUNCTION iys_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           count(*)
      FROM new_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE FUNCTION iys_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           -count(*)
      FROM old_rows GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

-- every UPDATE statement fires it (a trigger with transition tables cannot name columns);
-- most (leases, attempts) change no group and insert nothing
CREATE FUNCTION iys_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           sum(d)
      FROM (SELECT brand_id, received_at, status, state, -1 AS d FROM old_rows
            UNION ALL
            SELECT brand_id, received_at, status, state, 1 FROM new_rows) AS changed
     GROUP BY 1, 2, 3, 4
    HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER consent_event_tally_insert AFTER INSERT ON consent_event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION iys_tally_insert();
CREATE TRIGGER consent_event_tally_delete AFTER DELETE ON consent_event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION iys_tally_delete();
CREATE TRIGGER consent_event_tally_update AFTER UPDATE ON consent_event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION iys_tally_update();

-- Folds every group with more than one delta into one row (a zero sum leaves none). Safe
-- beside writers and another compaction: the DELETE takes only the rows of its snapshot, and
-- a row another compaction already deleted is not returned twice.
CREATE FUNCTION iys_tally_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH groups AS (
        SELECT brand_id, day, status, state FROM consent_event_tally
         GROUP BY 1, 2, 3, 4 HAVING count(*) > 1),
    gone AS (
        DELETE FROM consent_event_tally t USING groups g
         WHERE (t.brand_id, t.day, t.status, t.state) = (g.brand_id, g.day, g.status, g.state)
        RETURNING t.brand_id, t.day, t.status, t.state, t.n),
    folded AS (
        INSERT INTO consent_event_tally (brand_id, day, status, state, n)
        SELECT brand_id, day, status, state, sum(n) FROM gone
         GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0
        RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- Counts from the events themselves (after a load with triggers off; here for the events
-- already stored). Under a lock that keeps writers out meanwhile.
CREATE FUNCTION iys_tally_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE consent_event IN SHARE MODE;
    DELETE FROM consent_event_tally;
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           count(*)
      FROM consent_event GROUP BY 1, 2, 3, 4;
$$;

SELECT iys_tally_rebuild();

-- 2. The events list is newest first by receipt time, (received_at, id), with the day
--    filter and the cursor as bounds of one index range: a day a month back is found by
--    descending the index, not by walking a month of ids back to it (165-231 ms at 10M: the
--    planner cannot know ids follow time). It replaces (brand_id, received_at) (0004),
--    which served the chart, now read from the tally, and the brand's last event time.
DROP INDEX consent_event_brand_received_idx;
CREATE INDEX consent_event_brand_time_idx ON consent_event (brand_id, received_at, id);
