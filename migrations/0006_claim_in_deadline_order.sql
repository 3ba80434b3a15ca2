-- The pusher's claim walks the pending events in deadline order and stops after its LIMIT
-- (issue #8). With the old index on (next_attempt_at, deadline_at) the claim read, anti-
-- joined and sorted every pending event of every round: 186 ms of a 234 ms claim of 1,000
-- at a backlog of 100,000 (a RET wave), i.e. quadratic in the wave. On (deadline_at, id),
-- the order of CLAIM's ORDER BY, the plan is an index scan with a nested-loop probe per
-- candidate: 5 ms. Replaced rather than added: one index entry per MO, as before.
-- Cost moved: while İYS is down and nothing is due, a claim reads the whole backlog to find
-- nothing (a poll a second), where the old index found nothing at once.
CREATE INDEX consent_event_due_idx ON consent_event (deadline_at, id) WHERE state = 'pending';
DROP INDEX consent_event_pending_idx;
