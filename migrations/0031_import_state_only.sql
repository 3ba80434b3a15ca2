-- Bulk upload in "state only" mode (issues #29 item 1, #31): a file that seeds the İYS
-- mirror (iys_key_state, origin 'seed') with a brand's existing consents and is never
-- pushed. Its valid rows get no consent_event; rows.csv says "seeded".
ALTER TABLE consent_import ADD COLUMN state_only boolean NOT NULL DEFAULT false;
