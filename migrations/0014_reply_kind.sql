-- What each confirmation reply confirmed (issue #24 item 6): "<brand id>:<RET|ONAY>" for a
-- consent, "<outcome>:" for the other replies (ambiguous, unknown_brand). A change of status
-- for a brand always gets its reply; only repeats of the same kind wait for reply_interval.
-- Replies written before this migration have no kind: they count as repeats of nothing.
ALTER TABLE sms_out ADD COLUMN kind text NOT NULL DEFAULT '';
-- the per-recipient cap counts a recipient's replies of the last hour, on every number
CREATE INDEX sms_out_recipient_idx ON sms_out (recipient, created_at);
