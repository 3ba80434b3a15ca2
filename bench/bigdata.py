"""The 10-million-message database of ``make bench`` (issues #26 item 6b, #27 item 1).

Built once by :func:`ensure` inside PostgreSQL (``generate_series``, no row crosses the
wire), kept under ``var/bench-big/`` in an embedded cluster of its own, and reused while its
key — the rows asked for, this generator's version and the text of every migration — is
unchanged. Shape, as a year of a brand's short number:

* ``BENCH_BIG_ROWS`` messages (default 10,000,000), ids in time order over the last 365 days,
  each from a random Turkish mobile sender to 4609, ``RET ACME`` or ``IZIN ACME``: one
  ``sms_in`` row (a 60-byte PDU, its digest, its fields), one ``mo_message``, one
  ``consent_event``;
* 99 % of the events accepted (with İYS's transaction id and creation date), the newest 1 %
  pending: of those, 1,000 due now (one in a hundred at 10M), the others waiting for a later
  attempt (an İYS outage's backlog, the shape the pusher's claim must not pay for);
* one İYS attempt for each event of the last 7 days (the success ratio's window).

Secondary indexes and foreign-key triggers are off during the load and built after it; then
VACUUM ANALYZE and a CHECKPOINT. Between benchmark runs :func:`reset` deletes what the runs
added (ids above the fixture's) so every run starts from the same rows.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

import asyncpg

from inbound import db, service, store
from keywords import RuleSet

GENERATOR_VERSION = "2"
DEFAULT_ROWS = 10_000_000
PENDING_SHARE = 0.01        # of the events: the newest are pending
DUE_NOW = 1000              # of the pending: this many due now, the others waiting
ATTEMPT_DAYS = 7


@dataclass(frozen=True)
class Fixture:
    dsn: str
    rows: int
    built_seconds: float | None     # None: reused
    size_bytes: int
    max_ids: dict[str, int]


def due_every(rows: int) -> int:
    """One pending event in this many is due: ``DUE_NOW`` due whatever the scale."""
    return max(1, int(rows * PENDING_SHARE) // DUE_NOW)


def rows_wanted() -> int:
    return int(os.environ.get("BENCH_BIG_ROWS", str(DEFAULT_ROWS)))


def fixture_key(rows: int) -> str:
    digest = hashlib.sha256(f"{GENERATOR_VERSION}:{rows}".encode())
    for name, path in db.migration_files():
        digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


async def ensure(server_dsn: str, rows: int) -> Fixture:
    """The fixture database on ``server_dsn``'s cluster, built if missing or stale."""
    name = f"bench_big_{rows}"
    key = fixture_key(rows)
    base, sep, query = server_dsn.partition("?")
    dsn = f"{base.rpartition('/')[0]}/{name}{sep}{query}"
    admin = await asyncpg.connect(server_dsn)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
    finally:
        await admin.close()
    if exists:
        conn = await asyncpg.connect(dsn)
        try:
            stored = await conn.fetchval(
                "SELECT key FROM bench_fixture WHERE to_regclass('bench_fixture') IS NOT NULL")
        except asyncpg.UndefinedTableError:
            stored = None
        finally:
            await conn.close()
        if stored == key:
            return await _describe(dsn, rows, None)
        print(f"  big fixture: stale (key {stored} != {key}): rebuilding", flush=True)
    started = time.monotonic()
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await _build(dsn, rows, key)
    return await _describe(dsn, rows, time.monotonic() - started)


async def _describe(dsn: str, rows: int, built: float | None) -> Fixture:
    conn = await asyncpg.connect(dsn)
    try:
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
        ids = await conn.fetchrow("SELECT * FROM bench_fixture")
    finally:
        await conn.close()
    return Fixture(dsn, rows, built, size, {k: ids[k] for k in
                                            ("sms_in", "mo_message", "consent_event",
                                             "iys_attempt")})


def _step(label: str, started: float) -> float:
    now = time.monotonic()
    print(f"  big fixture: {label} in {now - started:.1f} s", flush=True)
    return now


async def _build(dsn: str, rows: int, key: str) -> None:
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
        rules = RuleSet.from_toml(service.DEMO_RULES.read_text(encoding="utf-8"))
        await store.replace_rules(conn, rules.to_dict())
        await conn.execute("SET maintenance_work_mem = '1GB'; SET synchronous_commit = off; "
                           "SET session_replication_role = replica")  # no FK triggers
        await conn.execute("SELECT iys_month_partitions('sms_in', now() - interval '366 days', 2)")
        await conn.execute(
            "SELECT iys_month_partitions('iys_attempt', now() - interval '366 days', 2)")
        indexes = await conn.fetch(
            """SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
                 FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                WHERE t.relname IN ('sms_in', 'mo_message', 'consent_event', 'iys_attempt')
                  AND NOT i.indisprimary""")
        for index in indexes:
            await conn.execute(f"DROP INDEX {index['name']}")
        t = time.monotonic()
        await conn.execute(LOAD_MESSAGES, rows)
        t = _step(f"{rows:,} mo_message", t)
        await conn.execute(LOAD_SMS_IN, rows)
        t = _step(f"{rows:,} sms_in", t)
        await conn.execute(LOAD_EVENTS, rows, PENDING_SHARE, due_every(rows))
        t = _step(f"{rows:,} consent_event", t)
        await conn.execute(LOAD_ATTEMPTS, ATTEMPT_DAYS)
        t = _step("attempts", t)
        for name in ("sms_in_id_seq", "mo_message_id_seq", "consent_event_id_seq",
                     "iys_attempt_id_seq"):
            table = name.removesuffix("_id_seq")
            await conn.execute(
                f"SELECT setval('{name}', (SELECT coalesce(max(id), 1) FROM {table}))")  # noqa: S608 (constant names)
        for index in indexes:
            # a partitioned table's index reads "ON ONLY parent": built on every month here
            await conn.execute(index["def"].replace(" ON ONLY ", " ON "))
        t = _step(f"{len(indexes)} indexes", t)
        await conn.execute("RESET session_replication_role")
        await conn.execute("SELECT iys_tally_rebuild()")  # the triggers were off for the load
        t = _step("event tally", t)
        await conn.execute("VACUUM (ANALYZE) sms_in, mo_message, consent_event, iys_attempt")
        t = _step("VACUUM ANALYZE", t)
        await conn.execute(
            """CREATE TABLE bench_fixture AS
               SELECT $1::text AS key, (SELECT max(id) FROM sms_in) AS sms_in,
                      (SELECT max(id) FROM mo_message) AS mo_message,
                      (SELECT max(id) FROM consent_event) AS consent_event,
                      (SELECT coalesce(max(id), 0) FROM iys_attempt) AS iys_attempt""", key)
        await conn.execute("CHECKPOINT")
        _step("CHECKPOINT", t)
    finally:
        await conn.close()


async def reset(fixture: Fixture) -> None:
    """Remove what benchmark runs added to the fixture (rows above its ids), then VACUUM
    those tables and CHECKPOINT: every run starts from the same database."""
    conn = await asyncpg.connect(fixture.dsn)
    try:
        ids = fixture.max_ids
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("DELETE FROM iys_attempt WHERE id > $1", ids["iys_attempt"])
            await conn.execute("DELETE FROM sms_part")
            await conn.execute("DELETE FROM sms_out")
            await conn.execute("DELETE FROM sms_in WHERE id > $1 AND received_at > now() - "
                               "interval '2 days'", ids["sms_in"])
            # the events with their triggers on: the tally (migration 0029) follows
            await conn.execute("SET LOCAL session_replication_role = origin")
            await conn.execute("DELETE FROM consent_event WHERE id > $1", ids["consent_event"])
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute("DELETE FROM mo_message WHERE id > $1", ids["mo_message"])
            await conn.execute("DELETE FROM iys_batch")
            await conn.execute("DELETE FROM iys_key_state")
            # with the triggers on: the tally and the clock of marks (migrations 0029, 0037)
            # follow the events put back to pending
            await conn.execute("SET LOCAL session_replication_role = origin")
            # the fixture's pending events back to their state: those the pusher touched,
            # and a later attempt an hour from now for the waiting ones
            await conn.execute(
                """UPDATE consent_event
                      SET attempts = 0, lease_owner = NULL, lease_until = NULL,
                          batch_request_id = NULL, batch_index = NULL, state = 'pending',
                          iys_transaction_id = NULL, iys_creation_date = NULL,
                          last_error_code = NULL, last_error = NULL,
                          next_attempt_at = CASE WHEN id % $3 = 0 THEN created_at
                                                 ELSE now() + interval '1 hour' END
                    WHERE id > $1 * (1 - $2::float8)
                      AND (state <> 'pending' OR attempts > 0
                           OR (id % $3 <> 0 AND next_attempt_at < now() + interval '50 min'))""",
                ids["consent_event"], PENDING_SHARE, due_every(fixture.rows))
            # accepted events of the fixture that a run changed (a daily reconciliation sent
            # them again, before bench/big.py turned it off): accepted again. The last 10 %
            # of the ids (36 days), by primary key
            await conn.execute(
                """UPDATE consent_event
                      SET state = 'accepted', attempts = 1, lease_owner = NULL,
                          lease_until = NULL, batch_request_id = NULL, batch_index = NULL,
                          next_attempt_at = received_at, last_error_code = NULL,
                          last_error = NULL, iys_transaction_id = 'bench-' || id,
                          iys_creation_date = to_char((received_at + interval '1 s')
                                                      AT TIME ZONE 'Europe/Istanbul',
                                                      'YYYY-MM-DD HH24:MI:SS')
                    WHERE id > ($1 * 0.9)::bigint AND id <= ($1 * (1 - $2::float8))::bigint
                      AND state <> 'accepted'""",
                ids["consent_event"], PENDING_SHARE)
            await conn.execute("DELETE FROM iys_reconciliation")
        await conn.execute("VACUUM (ANALYZE) sms_in, mo_message, consent_event, iys_attempt")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


# ids in time order over the last year; senders random (a person may write twice)
LOAD_MESSAGES = """
INSERT INTO mo_message (id, link, received_at, completed_at, sender, source_addr,
                        destination_addr, text, normalized, outcome, reason)
SELECT i, 'peer', t, t, '+' || s, s, '4609', w, w, 'consent', ''
  FROM (SELECT i,
               now() - interval '365 days' * (1 - i::float8 / $1) - random() * interval '1 s'
                   AS t,
               (905300000000 + (random() * 99999999)::bigint)::text AS s,
               CASE WHEN i % 3 = 0 THEN 'IZIN ACME' ELSE 'RET ACME' END AS w
          FROM generate_series(1, $1::bigint) AS i) AS g
"""

# one PDU per message: header (length, deliver_sm, ok, sequence) + a body of the real size
LOAD_SMS_IN = """
INSERT INTO sms_in (id, link, received_at, command, sequence, pdu, pdu_digest, fields,
                    source_addr, sender, destination_addr, kind, data_coding, encoding, text,
                    message_id, session_id, stored_at)
SELECT m.id, 'peer', m.received_at, 'deliver_sm', m.id % 2147483647, p.pdu, sha256(p.pdu),
       jsonb_build_object('service_type', '', 'source_addr_ton', 1, 'source_addr_npi', 1,
                          'source_addr', m.source_addr, 'dest_addr_ton', 0,
                          'dest_addr_npi', 0, 'destination_addr', '4609', 'esm_class', 0,
                          'protocol_id', 0, 'priority_flag', 0, 'data_coding', 0,
                          'sm_length', length(m.text), 'tlvs', '{}'::jsonb),
       m.source_addr, m.sender, '4609', 'mo', 0, 'gsm7', m.text, m.id, 1,
       m.received_at + interval '2 ms'
  FROM mo_message m
 CROSS JOIN LATERAL (SELECT int4send(45 + length(m.source_addr) + length(m.text))
                            || '\\x00000005000000000000'::bytea || int4send(m.id::int % 2147483647)
                            || '\\x000101'::bytea || convert_to(m.source_addr, 'UTF8')
                            || '\\x000000'::bytea || convert_to('4609', 'UTF8')
                            || '\\x0000000000000000000000'::bytea
                            || convert_to(m.text, 'UTF8') AS pdu) AS p
 WHERE m.id <= $1
"""

LOAD_EVENTS = """
INSERT INTO consent_event (id, message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, source, received_at, consent_date,
                           deadline_at, state, attempts, next_attempt_at, created_at,
                           updated_at, iys_transaction_id, iys_creation_date)
SELECT m.id, m.id, 'acme', 700001, 700001, m.sender, 'BIREYSEL', 'MESAJ',
       CASE WHEN m.text LIKE 'IZIN%' THEN 'ONAY' ELSE 'RET' END, 'HS_MESAJ',
       m.received_at, m.received_at, m.received_at + interval '3 days',
       CASE WHEN pending THEN 'pending' ELSE 'accepted' END,
       CASE WHEN pending THEN 0 ELSE 1 END,
       CASE WHEN NOT pending THEN m.received_at
            WHEN m.id % $3 = 0 THEN m.received_at          -- due now (never tried)
            ELSE now() + interval '1 hour' END,            -- waiting for a later attempt
       m.received_at, m.received_at,
       CASE WHEN pending THEN NULL ELSE 'bench-' || m.id END,
       CASE WHEN pending THEN NULL
            ELSE to_char((m.received_at + interval '1 s') AT TIME ZONE 'Europe/Istanbul',
                         'YYYY-MM-DD HH24:MI:SS') END
  FROM (SELECT *, id > $1 * (1 - $2::float8) AS pending FROM mo_message) AS m
"""

LOAD_ATTEMPTS = """
INSERT INTO iys_attempt (event_id, started_at, latency_ms, method, path, request, http_status,
                         response, code, outcome, egress, kind)
SELECT e.id, e.received_at + interval '1 s', 40, 'POST', '/sps/700001/brands/700001/consents',
       jsonb_build_object('recipient', e.recipient, 'status', e.status), 200,
       '{"transactionId": "bench"}', NULL, 'accepted', 'default', 'add'
  FROM consent_event e
 WHERE e.state = 'accepted' AND e.received_at > now() - make_interval(days => $1)
"""
