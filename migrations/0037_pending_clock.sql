-- The compliance gauges cost what is due, not what waits (issue #27 item 3; docs/
-- DESIGN-NOTES.md "The compliance gauges from a clock of marks").
--
-- The gauges (iys_push/sql/iys_push.sql "compliance") counted every pending event from the
-- outbox's partial indexes: 82 ms at 100,000 pending among 10 million events, 0.4 ms on an
-- empty outbox. Now a clock of the pending events' marks, kept by the event tally's statement
-- triggers (migration 0029) in the same statements that change an event: for each pending
-- event, one signed delta per mark in the minute of that mark:
--   received      received_at                     (the oldest pending: its minute)
--   half          received_at + 50 % of its window (deadline_at - received_at)
--   ninety        received_at + 90 % of its window
--   deadline      deadline_at
--   ret_deadline  deadline_at, RET events only    (the nearest RET deadline: its minute)
-- A count "past a mark" is the sum of that mark's deltas in minutes before the current one;
-- iys_clock_compact() (the pusher's gauge loop) folds each group's deltas into one row, and
-- every past minute of half/ninety/deadline into one row at -infinity (once past, always
-- past): the gauges sum a handful of rows whatever the backlog. Resolution: a minute (an
-- event counts as past its mark from the minute after it; the oldest age and the nearest
-- deadline are those of their minute's start), finer than the gauges' own refresh (up to
-- 60 s when their query was slow).
CREATE TABLE consent_event_clock (
    mark  text NOT NULL,
    at    timestamptz NOT NULL,   -- the minute of the mark (-infinity: folded, long past)
    n     bigint NOT NULL
);
CREATE INDEX consent_event_clock_mark_idx ON consent_event_clock (mark, at) INCLUDE (n);

-- the marks of a set of events (those pending), as (mark, minute, signed count)
CREATE FUNCTION iys_clock_marks(received_at timestamptz, deadline_at timestamptz,
                                status text, d bigint)
RETURNS TABLE (mark text, at timestamptz, n bigint) LANGUAGE sql STABLE AS $$
    SELECT m.mark, date_trunc('minute', m.t), d
      FROM (VALUES ('received', received_at),
                   ('half', received_at + (deadline_at - received_at) * 0.5),
                   ('ninety', received_at + (deadline_at - received_at) * 0.9),
                   ('deadline', deadline_at),
                   ('ret_deadline', CASE WHEN status = 'RET' THEN deadline_at END)) AS m(mark, t)
     WHERE m.t IS NOT NULL
$$;

-- The tally's trigger functions (0029) keep the clock too: the same statement, one trigger.
CREATE OR REPLACE FUNCTION iys_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           count(*)
      FROM new_rows GROUP BY 1, 2, 3, 4;
    INSERT INTO consent_event_clock (mark, at, n)
    SELECT c.mark, c.at, sum(c.n)
      FROM new_rows r, iys_clock_marks(r.received_at, r.deadline_at, r.status, 1) AS c
     WHERE r.state = 'pending'
     GROUP BY 1, 2;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION iys_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           -count(*)
      FROM old_rows GROUP BY 1, 2, 3, 4;
    INSERT INTO consent_event_clock (mark, at, n)
    SELECT c.mark, c.at, sum(c.n)
      FROM old_rows r, iys_clock_marks(r.received_at, r.deadline_at, r.status, -1) AS c
     WHERE r.state = 'pending'
     GROUP BY 1, 2;
    RETURN NULL;
END $$;

-- most UPDATEs (leases, attempts) change no group and no mark: they insert nothing
CREATE OR REPLACE FUNCTION iys_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           sum(d)
      FROM (SELECT brand_id, received_at, status, state, -1 AS d FROM old_rows
            UNION ALL
            SELECT brand_id, received_at, status, state, 1 FROM new_rows) AS changed
     GROUP BY 1, 2, 3, 4
    HAVING sum(d) <> 0;
    INSERT INTO consent_event_clock (mark, at, n)
    SELECT c.mark, c.at, sum(c.n)
      FROM (SELECT received_at, deadline_at, status, -1 AS d FROM old_rows
             WHERE state = 'pending'
            UNION ALL
            SELECT received_at, deadline_at, status, 1 FROM new_rows
             WHERE state = 'pending') AS r,
           iys_clock_marks(r.received_at, r.deadline_at, r.status, r.d) AS c
     GROUP BY 1, 2
    HAVING sum(c.n) <> 0;
    RETURN NULL;
END $$;

-- Folds the clock: every group (mark, minute) with more than one row into one row, every
-- past minute of the counted marks into -infinity, zero sums gone. Safe beside writers and
-- another compaction, as iys_tally_compact (0029): the DELETE takes only its snapshot's rows.
-- Its cost: the clock's rows (a few per minute that holds a pending mark), not the events.
CREATE FUNCTION iys_clock_compact() RETURNS bigint LANGUAGE sql AS $$
    WITH keyed AS (
        SELECT ctid AS row_id, mark,
               CASE WHEN mark IN ('half', 'ninety', 'deadline')
                         AND at < date_trunc('minute', now())
                    THEN '-infinity'::timestamptz ELSE at END AS key_at
          FROM consent_event_clock),
    groups AS (
        SELECT mark, key_at FROM keyed GROUP BY 1, 2 HAVING count(*) > 1),
    gone AS (
        DELETE FROM consent_event_clock c
         USING keyed k JOIN groups g USING (mark, key_at)
         WHERE c.ctid = k.row_id
        RETURNING c.mark, k.key_at, c.n),
    folded AS (
        INSERT INTO consent_event_clock (mark, at, n)
        SELECT mark, key_at, sum(n) FROM gone GROUP BY 1, 2 HAVING sum(n) <> 0
        RETURNING 1)
    SELECT count(*) FROM gone
$$;

-- The tally's rebuild (after a load with triggers off) rebuilds the clock too.
CREATE OR REPLACE FUNCTION iys_tally_rebuild() RETURNS void LANGUAGE sql AS $$
    LOCK TABLE consent_event IN SHARE MODE;
    DELETE FROM consent_event_tally;
    INSERT INTO consent_event_tally (brand_id, day, status, state, n)
    SELECT brand_id, (received_at AT TIME ZONE 'Europe/Istanbul')::date, status, state,
           count(*)
      FROM consent_event GROUP BY 1, 2, 3, 4;
    DELETE FROM consent_event_clock;
    INSERT INTO consent_event_clock (mark, at, n)
    SELECT c.mark, c.at, sum(c.n)
      FROM consent_event r, iys_clock_marks(r.received_at, r.deadline_at, r.status, 1) AS c
     WHERE r.state = 'pending'
     GROUP BY 1, 2;
$$;

SELECT iys_tally_rebuild();
