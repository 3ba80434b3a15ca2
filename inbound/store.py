"""The inbound side's SQL, in one place: readable, parameterised, called by name.

Values always travel as parameters ($1, $2 …); no statement here is built from data.
"""

from __future__ import annotations

from typing import Any

import asyncpg

# -- the pipeline's batch --------------------------------------------------------------

# The latest earlier copy of each of a batch's digests on this link (a redelivery or a
# repeat; inbound/pipeline.py decides which, README "Redeliveries and repeats"). Copies are
# looked up digest by digest (LATERAL): given ``pdu_digest = ANY(...)`` the planner used the
# index for link and time only and filtered every row of the window (45 ms a batch at 40,000
# rows, growing with the traffic). _originals is the one definition of "an earlier copy of
# this PDU" that the statements below share; its arguments are where the digests come from
# (a relation with a ``digest`` column) and the start of the redelivery window. Per copy:
#   original_id     the first copy, which a redelivery points at
#   session_id      the SMPP session that received the copy
#   received_at     when it was received
#   answered_after  seconds from its receipt to the write of its row, which its answer
#                   follows at once (NULL for rows from before migrations/0011)
#   event_since     whether an event for the same recipient and brand as the original's
#                   events came in after the copy (the rows involved are few: one
#                   person's messages, through consent_event_key_idx, led by the recipient)
def _originals(digests: str, since: str) -> str:
    return """
o AS (
    SELECT d.digest, c.original_id, c.session_id, c.received_at, c.answered_after,
           c.event_since
      FROM DIGESTS
      CROSS JOIN LATERAL (
            SELECT COALESCE(s.redelivery_of, s.id) AS original_id, s.session_id,
                   s.received_at,
                   extract(epoch FROM s.stored_at - s.received_at)::float8 AS answered_after,
                   EXISTS (SELECT 1
                             FROM sms_in first_copy
                             JOIN consent_event mine ON mine.message_id = first_copy.message_id
                             JOIN consent_event later ON later.brand_id = mine.brand_id
                                                     AND later.recipient = mine.recipient
                            WHERE first_copy.id = COALESCE(s.redelivery_of, s.id)
                              AND later.received_at > s.received_at) AS event_since
              FROM sms_in s
             WHERE s.link = $1 AND s.pdu_digest = d.digest AND s.received_at > SINCE
             ORDER BY s.received_at DESC, s.id DESC LIMIT 1) AS c)""".replace(
        "DIGESTS", digests).replace("SINCE", since)


# the copies found, one array per column, in the order of their digests
FOUND_COLUMNS = ("original_digests", "original_ids", "original_sessions", "original_received",
                 "original_answered_after", "original_event_since")
_FOUND = """ARRAY(SELECT digest FROM o ORDER BY digest) AS original_digests,
       ARRAY(SELECT original_id FROM o ORDER BY digest) AS original_ids,
       ARRAY(SELECT session_id FROM o ORDER BY digest) AS original_sessions,
       ARRAY(SELECT received_at FROM o ORDER BY digest) AS original_received,
       ARRAY(SELECT answered_after FROM o ORDER BY digest) AS original_answered_after,
       ARRAY(SELECT event_since FROM o ORDER BY digest) AS original_event_since"""

# Inside the transaction of a batch with concatenated parts or replies (those need the ids
# in Python): the originals and ids for its rows, in one round trip.
PREPARE_BATCH = "WITH" + _originals("unnest($2::bytea[]) AS d(digest)", "$3") + """
SELECT ARRAY(SELECT nextval('sms_in_id_seq') FROM generate_series(1, $4)) AS sms_in_ids,
       ARRAY(SELECT nextval('mo_message_id_seq') FROM generate_series(1, $5)) AS message_ids,
       """ + _FOUND  # noqa: S608 (constants joined at import, nothing from input)

ALLOCATE_MESSAGE_IDS = "SELECT nextval('mo_message_id_seq') AS id FROM generate_series(1, $1)"

# The batch's rows in one statement: every table from an array of rows (unnest). Run alone it
# is its own transaction (atomic: all or nothing, one commit); the concatenation and reply
# path runs it inside one. Parameters: $1 the link; $2, $3, $4 the sms_in, mo_message and
# consent_event rows as arrays of the composite types of migrations/0009 (one array of rows
# each, not one array per column: asyncpg checks every array element in Python). No NOTIFY
# here: PostgreSQL serialises the commits of all transactions that NOTIFY (a database-wide
# lock held until the commit is flushed), which undid the pipelined group commit; the
# pipeline tells the pushers after the commit (on_events).
# Foreign keys between the sub-statements are checked at the end of the statement; the
# events' brands, which have no foreign key (migrations/0005_hot_path.sql), by an EXISTS
# subquery planned with the statement (once a statement); only when a brand is missing does
# it call iys_brand_missing, which fails the statement with the foreign key's error code
# (a PL/pgSQL function doing the lookup was planned again at every call: 0008).
# Ids: a positive id is used as it is; -k stands for the k-th new sms_in id or mo_message id
# allocated here (in arrival order), wherever a row refers to one. The new ids are counted
# from the rows' own ids ($2, $3): a count parameter (generate_series(1, $n)) made every
# execution a custom plan, i.e. planned again each time.
# ONLY_NEW marks where INSERT_NEW_BATCH makes each insert conditional.
_BATCH_ROWS = """
sid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('sms_in_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($2::mo_batch_sms_in[]) AS r WHERE r.id < 0)))
           AS ids),
mid AS MATERIALIZED (
    SELECT ARRAY(SELECT nextval('mo_message_id_seq') FROM generate_series(1, (
                     SELECT count(*) FROM unnest($3::mo_batch_message[]) AS r WHERE r.id < 0)))
           AS ids),
s AS (
    INSERT INTO sms_in (id, link, received_at, command, sequence, pdu, pdu_digest, fields,
                        source_addr, sender, destination_addr, kind, data_coding, encoding,
                        text, redelivery_of, message_id, session_id, stored_at)
    SELECT CASE WHEN t.id < 0 THEN sid.ids[-t.id] ELSE t.id END, $1, t.received_at, t.command,
           t.sequence, t.pdu, t.pdu_digest, t.fields::jsonb, t.source_addr, t.sender,
           t.destination_addr, t.kind, t.data_coding, t.encoding, t.text,
           CASE WHEN t.redelivery_of < 0 THEN sid.ids[-t.redelivery_of] ELSE t.redelivery_of END,
           CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.session_id, clock_timestamp()
      FROM unnest($2::mo_batch_sms_in[]) AS t, sid, mid ONLY_NEW
    RETURNING 1),
m AS (
    INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                            destination_addr, text, normalized, outcome, reason)
    SELECT CASE WHEN t.id < 0 THEN mid.ids[-t.id] ELSE t.id END, $1, t.received_at,
           t.completed_at, t.sender, t.source_addr, t.destination_addr, t.text, t.normalized,
           t.outcome, t.reason
      FROM unnest($3::mo_batch_message[]) AS t, mid ONLY_NEW
    RETURNING 1),
e AS (
    INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                               recipient_type, type, status, source, received_at,
                               consent_date, deadline_at, state)
    SELECT CASE WHEN t.message_id < 0 THEN mid.ids[-t.message_id] ELSE t.message_id END,
           t.brand_id, t.iys_code, t.brand_code, t.recipient, t.recipient_type, t.type,
           t.status, t.source, t.received_at, t.received_at, t.deadline_at, t.state
      FROM unnest($4::mo_batch_event[]) AS t, mid ONLY_NEW
    RETURNING 1)
SELECT (SELECT count(*) FROM s) AS sms_in, (SELECT count(*) FROM m) AS messages,
       (SELECT count(*) FROM e) AS events,
       CASE WHEN EXISTS (SELECT 1 FROM unnest($4::mo_batch_event[]) AS b
                          WHERE NOT EXISTS (SELECT 1 FROM brand WHERE brand.id = b.brand_id))
            THEN iys_brand_missing(ARRAY(SELECT brand_id FROM unnest($4::mo_batch_event[])))
            ELSE true END AS brands_exist"""

INSERT_BATCH = "WITH" + _BATCH_ROWS.replace(" ONLY_NEW", "")

# A plain batch (no parts, no replies) in one round trip: INSERT_BATCH that first looks for
# earlier copies of its PDUs (the digests of $2, $5 the start of the redelivery window) and
# writes nothing when it finds one, returning them instead. Copies are rare (a redelivery
# after a reconnect, a person repeating a message): the pipeline then builds the batch again
# knowing them and stores it with INSERT_BATCH. The lookup sees what the other statements
# see, the rows committed when the statement began (a batch waits for the earlier ones of
# its link that share a digest).
# Before, a separate read-only lookup cost every batch a second round trip.
_ONLY_NEW = "\n     WHERE NOT EXISTS (SELECT 1 FROM o)"
_BATCH_DIGESTS = "(SELECT pdu_digest AS digest FROM unnest($2::mo_batch_sms_in[])) AS d"
INSERT_NEW_BATCH = ("WITH" + _originals(_BATCH_DIGESTS, "$5") + ","  # constants joined at import
                    + _BATCH_ROWS.replace(" ONLY_NEW", _ONLY_NEW) + ",\n       " + _FOUND)

# the plain batch's statements, prepared on the pipelined connection (inbound/pgpipe.py)
BATCH_STATEMENTS = (INSERT_NEW_BATCH, INSERT_BATCH)

# the recent replies to a batch's recipients, on every number (inbound/replies_limit.py)
RECENT_REPLIES = """
SELECT recipient, source_addr, kind, created_at
  FROM sms_out
 WHERE recipient = ANY($1::text[]) AND created_at > $2
"""

INSERT_REPLY = """
INSERT INTO sms_out (message_id, link, recipient, source_addr, text, kind)
VALUES ($1, $2, $3, $4, $5, $6)
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
