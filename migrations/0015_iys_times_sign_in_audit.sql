-- Issue #25.
--
-- 1. İYS writes its timestamps (creationDate, consentDate) as "YYYY-MM-DD HH:MM:SS" in
--    Turkey time (Europe/Istanbul, IYS_API.md §3.4). They were kept only as that text, and
--    the page read the text as UTC: 08:21:28 in İstanbul was shown as 11:21:28. The text
--    stays as İYS sent it (evidence); beside it a timestamptz computed from it with the
--    right zone, which the API, the CSV and the page show. A generated column: whatever
--    writes the text (the pusher, the puller), the instant follows, and every row already
--    stored is converted now.
CREATE FUNCTION iys_time(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF value IS NULL OR value !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' THEN
        RETURN NULL;
    END IF;
    RETURN make_timestamp(substr(value, 1, 4)::int, substr(value, 6, 2)::int,
                          substr(value, 9, 2)::int, substr(value, 12, 2)::int,
                          substr(value, 15, 2)::int, substr(value, 18, 2)::double precision)
           AT TIME ZONE 'Europe/Istanbul';
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR data_exception THEN
    RETURN NULL;  -- a date that cannot exist (month 15): the text alone remains
END;
$$;

ALTER TABLE consent_event
    ADD COLUMN iys_created_at timestamptz GENERATED ALWAYS AS (iys_time(iys_creation_date)) STORED;
ALTER TABLE iys_change
    ADD COLUMN iys_consent_at timestamptz GENERATED ALWAYS AS (iys_time(consent_date)) STORED,
    ADD COLUMN iys_created_at timestamptz GENERATED ALWAYS AS (iys_time(creation_date)) STORED;

-- 2. Failed sign-ins counted per submitted e-mail address, whether or not an owner has it,
--    so that the lock-out answers alike for every address (owner.failed_logins and
--    owner.locked_until, which only existed for accounts, are no longer used). Keyed by the
--    SHA-256 of the lower-cased address: the table holds no address in clear.
CREATE TABLE web_sign_in_failure (
    email_digest  bytea PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    locked_until  timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_sign_in_failure_updated_idx ON web_sign_in_failure (updated_at);

-- 3. Where a configuration or account change came from: the API, the web page or the CLI.
ALTER TABLE config_audit ADD COLUMN actor_via text NOT NULL DEFAULT 'api'
    CHECK (actor_via IN ('api', 'web', 'cli'));
