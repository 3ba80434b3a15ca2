"""Retention of the tables #29-#32 added (inbound/retention_tables.py): each old row that is
no longer needed goes, in batches; what is still pending, still answered, or evidence of a
consent stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound import retention, retention_tables
from inbound.retention import RetentionSettings

NOW = datetime.now(UTC)
DAY = timedelta(days=1)
SETTINGS = RetentionSettings(batch_size=2)   # several batches for a handful of rows


@pytest.fixture
async def owned(pool: asyncpg.Pool) -> asyncpg.Pool:
    await pool.execute("INSERT INTO owner (id, name) VALUES (1, 'Acme Ltd')")
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code, owner_id) VALUES "
                       "('acme', 'ACME', 700001, 700001, 1)")
    return pool


async def ids(pool: asyncpg.Pool, query: str) -> set[object]:
    return {r[0] for r in await pool.fetch(query)}


async def test_webhook_rows_go_once_old_and_settled_and_pending_ones_stay(
    owned: asyncpg.Pool
) -> None:
    pool = owned
    endpoint = await pool.fetchval(
        "INSERT INTO webhook_endpoint (owner_id, url, events, secret) VALUES "
        "(1, 'https://crm.example/hook', '{consent.received}', 'whsec_x') RETURNING id")

    async def event(age: timedelta, state: str | None, seq: int | None = 1) -> int:
        at = NOW - age
        event_id = await pool.fetchval(
            "INSERT INTO webhook_event (brand_id, owner_id, kind, seq, data, created_at) "
            "VALUES ('acme', 1, 'consent.received', $1, '{}', $2) RETURNING id", seq, at)
        if state is not None:
            await pool.execute(
                "INSERT INTO webhook_delivery (endpoint_id, event_id, state, next_attempt_at) "
                "VALUES ($1, $2, $3, $4)", endpoint, event_id, state, at)
            await pool.execute(
                "INSERT INTO webhook_attempt (endpoint_id, event_id, at, latency_ms, outcome) "
                "VALUES ($1, $2, $3, 10, 'delivered')", endpoint, event_id, at)
        return event_id

    delivered = [await event(40 * DAY, "delivered") for _ in range(3)]
    given_up = await event(40 * DAY, "failed")
    pending = await event(40 * DAY, "pending")           # a replay under way: kept
    unsequenced = await event(40 * DAY, None, seq=None)  # not fanned out yet: kept
    recent = await event(5 * DAY, "delivered")

    deleted = await retention.run_once(pool, SETTINGS)

    assert deleted["webhook_events"] == 4 and deleted["webhook_attempts"] == 4
    assert await ids(pool, "SELECT id FROM webhook_event") == {pending, unsequenced, recent}
    assert await ids(pool, "SELECT event_id FROM webhook_delivery") == {pending, recent}
    assert await ids(pool, "SELECT event_id FROM webhook_attempt") == {pending, recent}
    assert not set(delivered + [given_up]) & await ids(pool, "SELECT id FROM webhook_event")


async def test_a_notice_still_answered_is_remembered_and_the_rest_forgotten(
    owned: asyncpg.Pool
) -> None:
    pool = owned
    sub = await pool.fetchval(
        "INSERT INTO notice_subscription (owner_id, email, created_at) "
        "VALUES (1, 'ops@acme.example', $1) RETURNING id", NOW - 400 * DAY)
    review = await pool.fetchval(
        """INSERT INTO consent_submission (brand_id, via, actor, item_index, recipient_input,
                                           consent_date)
           VALUES ('acme', 'api', 'admin', 0, '05320000001', $1) RETURNING id""", NOW)
    event_id = await pool.fetchval(
        """INSERT INTO consent_event (submission_id, brand_id, iys_code, brand_code, recipient,
                                      recipient_type, type, status, received_at, consent_date,
                                      deadline_at, state)
           VALUES ($1, 'acme', 700001, 700001, '+905320000001', 'BIREYSEL', 'MESAJ', 'RET',
                   $2, $2, $2::timestamptz + interval '3 days', 'review') RETURNING id""",
        review, NOW - 200 * DAY)
    old, fresh = NOW - 100 * DAY, NOW - DAY
    for item, at in ((f"review:{event_id}", old), ("digest:2026-01-01", old),
                     ("digest:2026-01-02", old), ("failed:999", old),
                     ("digest:2026-12-01", fresh)):
        await pool.execute("INSERT INTO notice_sent (subscription_id, item, sent_at) "
                           "VALUES ($1, $2, $3)", sub, item, at)

    deleted = await retention.run_once(pool, SETTINGS)

    # the review still waits: forgetting it would mail it again
    assert deleted["notices_sent"] == 3
    assert await ids(pool, "SELECT item FROM notice_sent") == {f"review:{event_id}",
                                                               "digest:2026-12-01"}


async def test_push_requests_and_link_codes_go_after_their_periods(owned: asyncpg.Pool) -> None:
    pool = owned
    for age in (40, 31, 35, 2):
        await pool.execute("INSERT INTO iys_push_inbox (brand_id, received_at, outcome, body) "
                           "VALUES ('acme', $1, 'stored', '{}')", NOW - age * DAY)
    link = await pool.fetchval(
        "INSERT INTO consent_link (brand_id, code_hash, action, created_by) "
        "VALUES ('acme', '\\x01', 'ONAY', 'cli') RETURNING id")

    async def code(expires: datetime, used: datetime | None) -> int:
        sms = await pool.fetchval(
            "INSERT INTO sms_out (link, recipient, source_addr, text, kind, state) "
            "VALUES ('tx', '+905320000001', 'ACME', '[one-time code]', 'otp', 'sent') "
            "RETURNING id")
        await pool.execute(
            "INSERT INTO consent_link_otp (link_id, recipient, code_digest, address, "
            "expires_at, used_at, sms_id) VALUES ($1, '+905320000001', '\\x00', '10.0.0.1', "
            "$2, $3, $4)", link, expires, used, sms)
        return sms

    gone = [await code(NOW - 3 * DAY, None), await code(NOW - 3 * DAY, NOW - 2 * DAY),
            await code(NOW + DAY, NOW - 2 * DAY)]          # used two days ago
    kept = [await code(NOW - DAY / 2, None), await code(NOW + DAY, None)]

    deleted = await retention.run_once(pool, SETTINGS)

    assert deleted["iys_push_requests"] == 3 and deleted["link_codes"] == 3
    assert await pool.fetchval("SELECT count(*) FROM iys_push_inbox") == 1
    assert await ids(pool, "SELECT sms_id FROM consent_link_otp") == set(kept)
    assert await ids(pool, "SELECT id FROM sms_out") == set(kept)
    assert not set(gone) & await ids(pool, "SELECT id FROM sms_out")


async def test_expired_links_that_recorded_nothing_go_and_evidence_stays(
    owned: asyncpg.Pool
) -> None:
    pool = owned

    async def link(n: int, expired_days_ago: int | None, recipient: str | None) -> int:
        expires = None if expired_days_ago is None else NOW - expired_days_ago * DAY
        return await pool.fetchval(
            "INSERT INTO consent_link (brand_id, code_hash, recipient, action, expires_at, "
            "created_by) VALUES ('acme', $1, $2, 'ONAY', $3, 'cli') RETURNING id",
            bytes([n]), recipient, expires)

    async def submission(link_id: int) -> int:
        return await pool.fetchval(
            """INSERT INTO consent_submission (brand_id, via, actor, item_index,
                                               recipient_input, consent_date, evidence)
               VALUES ('acme', 'link', $1, 0, '+905320000001', $2, $3) RETURNING id""",
            f"link:{link_id}", NOW - 500 * DAY, {"link_id": link_id})

    unused = [await link(i, 400, "+905320000001") for i in range(3)]
    brand_wide_unused = await link(3, 400, None)
    tapped = await link(4, 400, "+905320000002")           # a personal link's tap
    tap = await submission(tapped)
    await pool.execute("UPDATE consent_link SET confirmed_at = $2, submission_id = $3 "
                       "WHERE id = $1", tapped, NOW - 500 * DAY, tap)
    brand_wide_used = await link(5, 400, None)             # a number recorded through it
    await submission(brand_wide_used)
    recently_expired = await link(6, 100, "+905320000003")
    never_expires = await link(7, None, "+905320000004")
    submissions = await pool.fetchval("SELECT count(*) FROM consent_submission")

    deleted = await retention.run_once(pool, SETTINGS)

    assert deleted["unused_links"] == 4
    assert not set(unused + [brand_wide_unused]) & await ids(pool, "SELECT id FROM consent_link")
    assert await ids(pool, "SELECT id FROM consent_link") == {
        tapped, brand_wide_used, recently_expired, never_expires}
    assert await pool.fetchval("SELECT count(*) FROM consent_submission") == submissions


async def test_import_rows_of_imports_finished_long_ago_go_and_their_consents_stay(
    owned: asyncpg.Pool
) -> None:
    pool = owned

    async def an_import(finished: datetime | None, rows: int) -> int:
        import_id = await pool.fetchval(
            "INSERT INTO consent_import (brand_id, via, actor, format, state, finished_at) "
            "VALUES ('acme', 'cli', 'cli', 'csv', $1, $2) RETURNING id",
            "pushing" if finished is None else "finished", finished)
        for row_no in range(1, rows + 1):
            await pool.execute("INSERT INTO consent_import_row (import_id, row_no, outcome) "
                               "VALUES ($1, $2, 'refused')", import_id, row_no)
        return import_id

    old = await an_import(NOW - 400 * DAY, 5)
    recent = await an_import(NOW - 30 * DAY, 2)
    running = await an_import(None, 2)

    deleted = await retention.run_once(pool, SETTINGS)

    assert deleted["import_rows"] == 5
    assert await ids(pool, "SELECT DISTINCT import_id FROM consent_import_row") == {
        recent, running}
    assert await ids(pool, "SELECT id FROM consent_import") == {old, recent, running}


def test_every_table_has_its_period() -> None:
    assert set(retention_tables.periods(SETTINGS)) | {"notices_sent"} == {
        name for name in retention_tables.SQL if name != "notice_subscriptions"}
