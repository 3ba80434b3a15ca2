"""Retention (issue #26 item 5): months of sms_in and iys_attempt created ahead and dropped
when expired, the evidence of every consent still kept copied first; ended consents and
messages without consent removed in batches, and nothing else."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound import retention
from inbound.retention import RetentionSettings

NOW = datetime.now(UTC)
YEAR = timedelta(days=365)
SETTINGS = RetentionSettings(batch_size=2)   # several batches for a handful of rows


@pytest.fixture
async def brand(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES "
                       "('acme', 'ACME', 700001, 700001)")
    return pool


async def message(pool: asyncpg.Pool, sender: str, at: datetime, outcome: str = "consent",
                  status: str | None = "RET", state: str = "accepted") -> tuple[int, int | None]:
    """A message received at ``at`` with its PDU, and its event (``status`` None: none)."""
    message_id = await pool.fetchval(
        """INSERT INTO mo_message (link, received_at, completed_at, sender, destination_addr,
                                   text, outcome)
           VALUES ('peer', $1, $1, $2, '4609', 'RET ACME', $3) RETURNING id""",
        at, sender, outcome)
    await pool.execute("SELECT iys_month_partition('sms_in', $1::date)", at)
    pdu = f"{sender}{at.isoformat()}".encode()
    await pool.execute(
        """INSERT INTO sms_in (link, received_at, command, pdu, pdu_digest, kind, sender,
                               message_id)
           VALUES ('peer', $1, 'deliver_sm', $2, $3, 'mo', $4, $5)""",
        at, pdu, hashlib.sha256(pdu).digest(), sender, message_id)
    if status is None:
        return message_id, None
    event_id = await pool.fetchval(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                                      recipient_type, type, status, received_at, consent_date,
                                      deadline_at, state)
           VALUES ($1, 'acme', 700001, 700001, $2, 'BIREYSEL', 'MESAJ', $3, $4, $4,
                   $4::timestamptz + interval '3 days', $5) RETURNING id""",
        message_id, sender, status, at, state)
    await pool.execute("SELECT iys_month_partition('iys_attempt', $1::date)", at)
    await pool.execute(
        """INSERT INTO iys_attempt (event_id, started_at, latency_ms, method, path, outcome)
           VALUES ($1, $2, 40, 'POST', '/consents', 'accepted')""", event_id, at)
    return message_id, event_id


async def test_months_are_created_ahead_and_rows_outside_them_are_never_lost(
    pool: asyncpg.Pool
) -> None:
    await retention.ensure_partitions(pool, months_ahead=2)
    months = [r["name"] for r in await pool.fetch(retention.SQL.retention_months, "sms_in")]
    this_month = NOW.strftime("sms_in_%Y%m")
    assert this_month in months and len(months[months.index(this_month):]) == 3
    far = NOW - 20 * YEAR  # no month for it: the default partition takes it
    await pool.execute(
        """INSERT INTO sms_in (link, received_at, command, pdu, pdu_digest, kind)
           VALUES ('peer', $1, 'deliver_sm', '\\x00', '\\x00', 'mo')""", far)
    assert await pool.fetchval("SELECT count(*) FROM sms_in_default") == 1


async def test_an_expired_month_is_dropped_after_the_evidence_still_kept_is_copied(
    brand: asyncpg.Pool
) -> None:
    pool = brand
    old = NOW - 4 * YEAR
    # current: ALICE's ONAY of four years ago is still her key's latest movement
    alice_msg, alice_event = await message(pool, "+905320000001", old, status="ONAY")
    # ended long ago: BOB's RET then an ONAY 3.9 years ago
    bob_msg, bob_event = await message(pool, "+905320000002", old, status="RET")
    bob_onay, bob_onay_event = await message(pool, "+905320000002", NOW - 3.9 * YEAR,
                                             status="ONAY")
    # ended recently: CEM's ONAY then a RET a year ago (kept three years after that)
    cem_msg, cem_event = await message(pool, "+905320000003", old, status="ONAY")
    await message(pool, "+905320000003", NOW - YEAR, status="RET")
    # no consent at all
    await message(pool, "+905320000004", old, outcome="no_keyword", status=None)
    month = old.strftime("%Y%m")

    dropped = await retention.drop_expired_months(pool, SETTINGS)

    assert f"sms_in_{month}" in dropped and f"iys_attempt_{month}" in dropped
    assert await pool.fetchval("SELECT to_regclass($1)", f"sms_in_{month}") is None
    kept = {r["message_id"] for r in await pool.fetch("SELECT message_id FROM sms_in_kept")}
    assert kept == {alice_msg, bob_onay, cem_msg}  # BOB's ONAY (its own month): current
    kept_attempts = {r[0] for r in await pool.fetch("SELECT event_id FROM iys_attempt_kept")}
    assert kept_attempts == {alice_event, bob_onay_event, cem_event}
    # the months still within the period stay
    assert await pool.fetchval("SELECT to_regclass($1)",
                               f"sms_in_{(NOW - YEAR).strftime('%Y%m')}") is not None
    assert bob_msg not in kept and bob_event not in kept_attempts


async def test_a_pass_removes_ended_consents_and_old_messages_without_consent_only(
    brand: asyncpg.Pool
) -> None:
    pool = brand
    ended = []
    for i in range(5):  # five keys whose ONAY ended with a RET 3.5 years ago
        sender = f"+90532100000{i}"
        ended.append(await message(pool, sender, NOW - 4 * YEAR, status="ONAY"))
        await message(pool, sender, NOW - 3.5 * YEAR, status="RET")
    current = await message(pool, "+905329999999", NOW - 5 * YEAR, status="ONAY")
    recent_end = await message(pool, "+905328888888", NOW - 4 * YEAR, status="ONAY")
    await message(pool, "+905328888888", NOW - 2 * YEAR, status="RET")
    old_noise = await message(pool, "+905327777777", NOW - 2 * YEAR, outcome="no_keyword",
                              status=None)
    new_noise = await message(pool, "+905327777777", NOW - 0.5 * YEAR,
                              outcome="unknown_number", status=None)
    # a failed event is no movement: it ends nothing
    failed_after = await message(pool, "+905326666666", NOW - 4.5 * YEAR, status="ONAY")
    await message(pool, "+905326666666", NOW - 3.5 * YEAR, status="RET", state="failed")

    done = await retention.run_once(pool, SETTINGS)

    assert done["events"] == 5 and done["messages"] == 1
    events = {r[0] for r in await pool.fetch("SELECT id FROM consent_event")}
    messages = {r[0] for r in await pool.fetch("SELECT id FROM mo_message")}
    for message_id, event_id in ended:
        assert event_id not in events and message_id not in messages
    for message_id, event_id in (current, recent_end, failed_after):
        assert event_id in events and message_id in messages
    assert old_noise[0] not in messages and new_noise[0] in messages
    # the PDUs and attempts went with them; the kept ones stayed
    assert not await pool.fetchval("SELECT count(*) FROM sms_in WHERE message_id = ANY($1)",
                                   [m for m, _ in ended] + [old_noise[0]])
    assert not await pool.fetchval(
        "SELECT count(*) FROM iys_attempt WHERE event_id = ANY($1)", [e for _, e in ended])
    assert await pool.fetchval("SELECT count(*) FROM iys_attempt WHERE event_id = $1",
                               current[1]) + await pool.fetchval(
        "SELECT count(*) FROM iys_attempt_kept WHERE event_id = $1", current[1]) == 1
    # a second pass finds nothing more
    second = await retention.run_once(pool, SETTINGS)
    assert {"months_dropped", "events", "messages"} <= set(second)
    assert not any(second.values())
