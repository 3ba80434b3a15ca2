-- Accounts and roles for the web page and the API (issue #33).
--
-- Several people sign in for one owner, each with a role: viewer (reads), agent (also records
-- consents and decides review items), admin (everything for its owner: words, replies,
-- tokens, users, webhooks). An owner's existing password becomes its first admin user (same
-- e-mail, same hash), so nobody has to be told a new one. Sessions made before have no user
-- and are ended (one more sign-in). API tokens carry a role too; the existing ones keep what
-- they could do (admin). Every change audited also names the user who made it.
CREATE TABLE web_user (
    id             bigserial PRIMARY KEY,
    owner_id       bigint NOT NULL REFERENCES owner (id) ON DELETE CASCADE,
    email          text NOT NULL,
    name           text NOT NULL DEFAULT '',
    role           text NOT NULL CHECK (role IN ('viewer', 'agent', 'admin')),
    password_hash  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     bigint REFERENCES web_user (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX web_user_email_idx ON web_user (lower(email));
CREATE INDEX web_user_owner_idx ON web_user (owner_id);

INSERT INTO web_user (owner_id, email, name, role, password_hash)
SELECT id, email, name, 'admin', password_hash FROM owner WHERE email IS NOT NULL;

DELETE FROM web_session;
ALTER TABLE web_session ADD COLUMN user_id bigint NOT NULL REFERENCES web_user (id)
    ON DELETE CASCADE;
CREATE INDEX web_session_user_idx ON web_session (user_id);

ALTER TABLE api_token ADD COLUMN role text NOT NULL DEFAULT 'admin'
    CHECK (role IN ('viewer', 'agent', 'admin'));

ALTER TABLE config_audit ADD COLUMN actor_user_id bigint REFERENCES web_user (id)
    ON DELETE SET NULL;
