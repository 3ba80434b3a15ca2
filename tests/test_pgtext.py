"""The batch rows' text literals (inbound/pgtext.py), read back by a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from inbound import pgtext

AWKWARD = ['', 'a"b', 'back\\slash', 'a,b', '(x)', '{y}', ' lead', 'trail ', 'İZİN ığüşöç',
           'emoji 😀', 'NULL', 'tab\there', 'new\nline', '\\x41', '"', '\\', ',']


def sms_in_row(text: str | None, pdu: bytes, when: datetime) -> tuple:
    # the columns of mo_batch_sms_in (migrations/0009, session_id from 0011), in order
    return (-1, when, "deliver_sm", 2**40, pdu, bytes(range(32)), '{"k": "v\\"q"}', "4609",
            "+905321234567", "4609", "mo", 8, "ucs2", text, None, -3, 2**62)


async def read_back(pool: asyncpg.Pool, literal: str) -> list[tuple]:
    rows = await pool.fetchval("SELECT $1::text::mo_batch_sms_in[]", literal)
    return [tuple(r) for r in rows]


async def test_awkward_values_come_back_as_they_were(pool: asyncpg.Pool) -> None:
    when = datetime(2026, 11, 24, 8, 30, 1, 123456, tzinfo=UTC)
    rows = [sms_in_row(text, bytes(range(256)), when) for text in AWKWARD]
    rows.append(sms_in_row(None, b"", when.astimezone(timezone(timedelta(hours=3)))))
    assert await read_back(pool, pgtext.record_array(rows)) == rows


async def test_null_and_the_empty_string_stay_apart(pool: asyncpg.Pool) -> None:
    when = datetime.now(UTC)
    back = await read_back(pool, pgtext.record_array([sms_in_row("", b"", when),
                                                      sms_in_row(None, b"", when)]))
    assert [r[13] for r in back] == ["", None]


async def test_no_rows_is_an_empty_array(pool: asyncpg.Pool) -> None:
    assert pgtext.record_array([]) == "{}"
    assert await read_back(pool, "{}") == []


def test_a_timestamp_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        pgtext.field(datetime(2026, 1, 1))


def test_a_type_without_a_text_form_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        pgtext.field(1.5)


def test_booleans_are_not_written_as_numbers() -> None:
    assert [pgtext.field(True), pgtext.field(False), pgtext.field(1)] == ["t", "f", "1"]
