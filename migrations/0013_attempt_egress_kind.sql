-- Issue #24, item 7: the success ratio as İYS counts it, from the attempts of all processes.
-- İYS counts per source IP (whitelist rule: >= 20,000 requests in 24 h and < 70 % answered
-- without 400/401/403/404/422 → notice; not back above 70 % within 96 h → removed).
--   egress  the configured label of the process's egress IP (iys.egress_label); rows from
--           before this migration count under 'default', the default label
--   kind    which İYS call: token, add, batch, batch_result, status, status_date, pull
--           (NULL on rows from before this migration)
ALTER TABLE iys_attempt ADD COLUMN egress text NOT NULL DEFAULT 'default';
ALTER TABLE iys_attempt ADD COLUMN kind text;

-- The gauge's 24-hour window per label: one index range scan, answered from the index
-- (insert-only table: the visibility map stays current), however many millions of rows.
CREATE INDEX iys_attempt_egress_window_idx ON iys_attempt (egress, started_at)
    INCLUDE (http_status);
