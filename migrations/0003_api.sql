-- The brand-owner API (issue #6): audit of configuration changes, links per number, owner
-- passwords for the later web page, and the indexes the event queries need.

-- Every configuration change made through the API: who, when, before, after.
-- owner_ids lists the owners the change concerns (the brand's owner before and after), so an
-- owner lists only its own history; admin changes to numbers concern no owner (empty array).
CREATE TABLE config_audit (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_token_id  bigint REFERENCES api_token (id) ON DELETE SET NULL,
    actor_owner_id  bigint REFERENCES owner (id) ON DELETE SET NULL,
    actor_admin     boolean NOT NULL,
    action          text NOT NULL,                -- create | update | delete | import
    resource        text NOT NULL,                -- brand | number | owner | token | rules
    resource_id     text NOT NULL,
    owner_ids       bigint[] NOT NULL DEFAULT '{}',
    before          jsonb,
    after           jsonb
);
CREATE INDEX config_audit_owner_idx ON config_audit USING gin (owner_ids);

-- Which SMPP links serve a number. Keyed by msisdn without a foreign key on purpose:
-- `rules import` rewrites the number table and must not lose this operator-side setting.
CREATE TABLE number_link (
    msisdn  text NOT NULL,
    link    text NOT NULL,
    PRIMARY KEY (msisdn, link)
);

-- For the brand owners' web page (later): a password hash (scrypt, PHC string) per owner.
ALTER TABLE owner ADD COLUMN password_hash text;

ALTER TABLE api_token ADD COLUMN last_used_at timestamptz;
CREATE INDEX api_token_owner_idx ON api_token (owner_id);
CREATE INDEX brand_owner_idx ON brand (owner_id);

-- Event queries: a brand's events by id (cursor), by recipient, and a message's events.
CREATE INDEX consent_event_message_idx ON consent_event (message_id);
CREATE INDEX consent_event_brand_id_idx ON consent_event (brand_id, id);
CREATE INDEX consent_event_brand_recipient_idx ON consent_event (brand_id, recipient, id);
CREATE INDEX sms_in_message_idx ON sms_in (message_id);
CREATE INDEX mo_message_destination_idx ON mo_message (destination_addr, id);
