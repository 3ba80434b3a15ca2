-- Consent and opt-out by link (issue #30). A brand mints personal links (one recipient) or a
-- brand-wide link (no recipient: the page asks for the number and checks it with a code sent
-- by SMS). Only the SHA-256 of a code is stored: the code itself exists in the SMS and in the
-- minting answer, never here. Tapping the page's button records a consent_submission
-- (via 'link') and its consent_event rows through the one writer; the link keeps the first
-- answer so that a second tap shows the same result.
CREATE TABLE consent_link (
    id             bigserial PRIMARY KEY,
    -- no foreign key: COPY would run its check once per row, and a campaign mints 100,000
    -- links a second; every writer names a brand it has just checked, and the page's
    -- lookup joins brand (a deleted brand's links answer as unknown codes)
    brand_id       text NOT NULL,
    code_hash      bytea NOT NULL,            -- sha256(code)
    recipient      text,                      -- +905…; NULL: brand-wide (number asked, OTP)
    action         text NOT NULL CHECK (action IN ('RET', 'ONAY', 'choice')),
    types          text[] NOT NULL DEFAULT '{MESAJ}',
    expires_at     timestamptz,               -- NULL: never
    created_by     text NOT NULL,             -- 'owner:ID', 'token:ID', 'admin', 'cli'
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    -- personal links: the first (and only) recording; brand-wide links record per number
    confirmed_at   timestamptz,
    submission_id  bigint REFERENCES consent_submission (id),
    result         jsonb
);
-- the page looks a code up by its digest, whatever the code (known or not)
CREATE UNIQUE INDEX consent_link_code_idx ON consent_link (code_hash);

-- One-time codes of brand-wide links: sent by SMS to the number the person typed, stored
-- hashed (HMAC with the service's secret: six digits alone would fall to a dictionary).
CREATE TABLE consent_link_otp (
    id           bigserial PRIMARY KEY,
    link_id      bigint NOT NULL REFERENCES consent_link (id) ON DELETE CASCADE,
    recipient    text NOT NULL,
    code_digest  bytea NOT NULL,
    address      text NOT NULL,               -- the requesting client's address
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    tries        integer NOT NULL DEFAULT 0,
    used_at      timestamptz,
    result       jsonb,                       -- what the page answered (a second tap)
    sms_id       bigint                       -- the sms_out row that carries it
);
CREATE INDEX consent_link_otp_recipient_idx ON consent_link_otp (recipient, created_at);
CREATE INDEX consent_link_otp_address_idx ON consent_link_otp (address, created_at);

-- The one-time code goes out through the reply path's outbox (sms_out, kind 'otp') on the
-- configured sending link; it answers no stored message. Its text is blanked once the code
-- has expired (inbound.link_otp), so the code lives in clear only while it can be used.
ALTER TABLE sms_out ALTER COLUMN message_id DROP NOT NULL;
