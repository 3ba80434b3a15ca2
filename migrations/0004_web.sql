-- The brand owners' web page (issue #9): sign-in sessions and lock-out after failed sign-ins.

-- One row per signed-in browser. The cookie carries a random token (signed with the
-- service's secret); only its SHA-256 is stored, so the table cannot be replayed as cookies.
-- Signing out deletes the row; a password reset deletes all of an owner's rows.
CREATE TABLE web_session (
    token_hash  bytea PRIMARY KEY,
    owner_id    bigint NOT NULL REFERENCES owner (id) ON DELETE CASCADE,
    csrf        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX web_session_owner_idx ON web_session (owner_id);

-- Failed sign-ins since the last success; at the limit the account is locked for a while.
ALTER TABLE owner ADD COLUMN failed_logins integer NOT NULL DEFAULT 0;
ALTER TABLE owner ADD COLUMN locked_until timestamptz;

-- The events-per-day chart counts a brand's events by day and status.
CREATE INDEX consent_event_brand_received_idx ON consent_event (brand_id, received_at);
