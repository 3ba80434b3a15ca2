"""The inbound side's SQL, in one place: readable, parameterised, called by name.

Values always travel as parameters ($1, $2 …); no statement here is built from data.
"""

from __future__ import annotations

from typing import Any

import asyncpg

# -- the pipeline's batch --------------------------------------------------------------

FIND_ORIGINALS = """
SELECT DISTINCT ON (pdu_digest) pdu_digest, id
  FROM sms_in
 WHERE link = $1 AND pdu_digest = ANY($2::bytea[]) AND received_at > $3
   AND redelivery_of IS NULL
 ORDER BY pdu_digest, id
"""

ALLOCATE_SMS_IN_IDS = "SELECT nextval('sms_in_id_seq') AS id FROM generate_series(1, $1)"
ALLOCATE_MESSAGE_IDS = "SELECT nextval('mo_message_id_seq') AS id FROM generate_series(1, $1)"

INSERT_SMS_IN = """
INSERT INTO sms_in (id, link, received_at, command, sequence, pdu, pdu_digest, fields,
                    source_addr, sender, destination_addr, kind, data_coding, encoding, text,
                    redelivery_of, message_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
"""

INSERT_MESSAGE = """
INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                        destination_addr, text, normalized, outcome, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""

INSERT_EVENT = """
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, source, received_at, consent_date,
                           deadline_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)
"""

NOTIFY_OUTBOX = "SELECT pg_notify('iys_outbox', '')"

RECENT_REPLY_PAIRS = """
SELECT DISTINCT recipient, source_addr
  FROM sms_out
 WHERE (recipient, source_addr) IN (SELECT * FROM unnest($1::text[], $2::text[]))
   AND created_at > $3
"""

INSERT_REPLY = """
INSERT INTO sms_out (message_id, link, recipient, source_addr, text) VALUES ($1, $2, $3, $4, $5)
"""

# -- replies (the transceiver's outbox) ------------------------------------------------

DUE_REPLIES = """
WITH due AS (
    SELECT id FROM sms_out
     WHERE link = $1 AND state = 'pending' AND next_attempt_at <= now()
     ORDER BY id
     LIMIT $2
       FOR UPDATE SKIP LOCKED)
UPDATE sms_out s
   SET attempts = s.attempts + 1, next_attempt_at = now() + interval '5 minutes'
  FROM due WHERE s.id = due.id
RETURNING s.id, s.source_addr, s.recipient, s.text
"""

REPLY_SENT = """
UPDATE sms_out SET state = 'sent', sent_at = now(), smsc_message_ids = $2, last_error = NULL
 WHERE id = $1
"""

REPLY_FAILED = """
UPDATE sms_out
   SET state = CASE WHEN $3::float8 IS NULL OR attempts >= 5 THEN 'failed' ELSE 'pending' END,
       next_attempt_at = now() + make_interval(secs => COALESCE($3::float8, 0)),
       last_error = $2
 WHERE id = $1
"""

# -- concatenation ---------------------------------------------------------------------

INSERT_PART = """
INSERT INTO sms_part (sms_in_id, link, concat_key, part_no, total, payload, data_coding,
                      locking_shift, single_shift, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (link, concat_key, part_no) WHERE message_id IS NULL DO NOTHING
"""

PENDING_PARTS = """
SELECT sms_in_id, part_no, total, payload, data_coding, locking_shift, single_shift, received_at
  FROM sms_part
 WHERE link = $1 AND concat_key = $2 AND message_id IS NULL
 ORDER BY part_no
"""

CLAIM_PARTS = """
WITH done AS (
    UPDATE sms_part SET message_id = $3
     WHERE link = $1 AND concat_key = $2 AND message_id IS NULL
    RETURNING sms_in_id)
UPDATE sms_in SET message_id = $3 WHERE id IN (SELECT sms_in_id FROM done)
"""

STALE_PART_KEYS = """
SELECT link, concat_key, min(received_at) AS first_at
  FROM sms_part
 WHERE message_id IS NULL
 GROUP BY link, concat_key
HAVING min(received_at) < $1
 LIMIT 100
"""

# -- rules -----------------------------------------------------------------------------

LOAD_BRANDS = """
SELECT id, name, aliases, iys_code, brand_code, settings FROM brand ORDER BY id
"""
LOAD_NUMBERS = "SELECT msisdn, shared, brand_id, settings FROM number ORDER BY msisdn"
NOTIFY_RULES = "SELECT pg_notify('iys_rules', '')"

# -- links -----------------------------------------------------------------------------

UPSERT_LINK_STATE = """
INSERT INTO link (name, state, owner, bound_at, updated_at)
VALUES ($1, $2, $3, CASE WHEN $2 = 'bound' THEN now() END, now())
ON CONFLICT (name) DO UPDATE
   SET state = EXCLUDED.state, owner = EXCLUDED.owner, updated_at = now(),
       bound_at = CASE WHEN EXCLUDED.state = 'bound' THEN now() ELSE link.bound_at END
"""

# -- reading events (CLI, API) ---------------------------------------------------------

RECENT_EVENTS = """
SELECT e.id, e.brand_id, e.recipient, e.recipient_type, e.type, e.status, e.state,
       e.received_at, e.deadline_at, e.attempts, e.iys_transaction_id, e.iys_creation_date,
       e.last_error_code, e.last_error, e.updated_at, m.destination_addr, m.text
  FROM consent_event e JOIN mo_message m ON m.id = e.message_id
 ORDER BY e.id DESC
 LIMIT $1
"""

RECENT_MESSAGES = """
SELECT id, link, received_at, sender, destination_addr, text, outcome, reason
  FROM mo_message ORDER BY id DESC LIMIT $1
"""


async def load_rules_dict(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    """The database's keyword configuration in the rules-file shape (RuleSet.from_dict)."""
    brands = []
    for row in await conn.fetch(LOAD_BRANDS):
        brand: dict[str, Any] = {
            "id": row["id"], "name": row["name"], "aliases": list(row["aliases"]),
            "iys_code": row["iys_code"], "brand_code": row["brand_code"],
        }
        brand.update(row["settings"] or {})
        brands.append(brand)
    numbers = []
    for row in await conn.fetch(LOAD_NUMBERS):
        number: dict[str, Any] = {"msisdn": row["msisdn"], "shared": row["shared"]}
        if row["brand_id"]:
            number["brand"] = row["brand_id"]
        number.update(row["settings"] or {})
        numbers.append(number)
    return {"number": numbers, "brand": brands}


_BRAND_COLUMNS = {"id", "name", "aliases", "iys_code", "brand_code", "owner"}
_NUMBER_COLUMNS = {"msisdn", "shared", "brand"}


async def replace_rules(conn: asyncpg.Connection, rules: dict[str, Any],
                        owner_id: int | None = None) -> None:
    """Replace the whole configuration with ``rules`` (already validated), all or nothing."""
    async with conn.transaction():
        await conn.execute("DELETE FROM number")
        existing = {r["id"] for r in await conn.fetch("SELECT id FROM brand")}
        wanted = {b["id"] for b in rules.get("brand", [])}
        for brand in rules.get("brand", []):
            settings = {k: v for k, v in brand.items() if k not in _BRAND_COLUMNS}
            await conn.execute(
                """INSERT INTO brand (id, name, aliases, iys_code, brand_code, settings, owner_id)
                   VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (id) DO UPDATE SET name = $2, aliases = $3, iys_code = $4,
                       brand_code = $5, settings = $6,
                       owner_id = COALESCE($7, brand.owner_id), updated_at = now()""",
                brand["id"], brand["name"], list(brand.get("aliases", [])),
                int(brand["iys_code"]), int(brand["brand_code"]), settings, owner_id,
            )
        # brands that have events stay (the evidence refers to them); the others go
        for gone in existing - wanted:
            await conn.execute(
                """DELETE FROM brand b WHERE b.id = $1
                     AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.brand_id = b.id)""",
                gone,
            )
        for number in rules.get("number", []):
            settings = {k: v for k, v in number.items() if k not in _NUMBER_COLUMNS}
            await conn.execute(
                "INSERT INTO number (msisdn, shared, brand_id, settings) VALUES ($1, $2, $3, $4)",
                number["msisdn"], bool(number.get("shared", False)), number.get("brand"),
                settings,
            )
        await conn.execute(NOTIFY_RULES)
