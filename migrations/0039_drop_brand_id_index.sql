-- consent_event_brand_id_idx (brand_id, id), from migrations/0003, has no reader left: every
-- statement that selects a brand's events goes through consent_event_brand_time_idx
-- (brand_id, received_at, id; migration 0029), which serves a leading brand_id as well, or
-- through a partial index (review, failed, due). Every MO event still paid for it: one more
-- btree insert and WAL record an event (~8 % of the plain batch statement's time in EXPLAIN
-- ANALYZE, 17 events) and 318 MB at 10,000,000 events (docs/DESIGN-NOTES.md, "Costs that
-- stay flat"). tests/test_plans.py checks the events list's and the export's plans.
DROP INDEX IF EXISTS consent_event_brand_id_idx;
