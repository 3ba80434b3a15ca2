"""Redeliveries and repeats (issue #24, item 3): the rule alone, then through the pipeline
against a real PostgreSQL. The same sequences over the wire: tests/test_smpp_redelivery.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from inbound.config import ConfigError, parse
from inbound.pipeline import Pipeline
from inbound.redelivery import Arrival, Copies, Copy, Refused
from inbound.rows import EventRow
from inbound.writer import AsyncpgWriter, BatchNotStored, BatchRows, BatchWriter, EarlierCopy
from tests.pdus import deliver_pdu, gsm7_unpacked
from tests.pipelines import RULES, received

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ACME_0850 = "908505320000"
RECIPIENT = "+905321234567"


# -- the rule --------------------------------------------------------------------------------
def copies_of(copy: Copy, response_window: float = 30.0) -> Copies:
    found = [EarlierCopy(b"d", copy.original_id, copy.session, copy.received_at,
                         copy.answered_after, copy.event_since)]
    return Copies(found, response_window)


def no_opt_out() -> frozenset[tuple[str, str]]:
    return frozenset()


def opt_out() -> frozenset[tuple[str, str]]:
    return frozenset({(RECIPIENT, "acme")})


def event(recipient: str, brand: str) -> EventRow:
    """A batch event row with its key (recipient, brand) filled in."""
    return EventRow(1, brand, 1, 1, recipient, "BIREYSEL", "MESAJ", "RET", "HS_MESAJ", T0, T0,
                    "pending")


@pytest.mark.parametrize(("session", "answered_after", "redelivery"), [
    (1, 0.02, False),    # same session, answered at once: the person sent it again
    (1, 31.0, True),     # answered after the SMSC's window: it may resend
    (2, 0.02, True),     # a later session: the answer may have been lost with the old one
    (None, None, True),  # stored before sessions were recorded: that session has ended
])
def test_a_copy_is_a_redelivery_only_when_the_smsc_could_be_resending_it(
        session: int | None, answered_after: float | None, redelivery: bool) -> None:
    copies = copies_of(Copy(7, session, T0, answered_after, event_since=False))
    found = copies.redelivery_of(b"d", Arrival(1, T0 + timedelta(seconds=2)), no_opt_out, [])
    assert found == (7 if redelivery else None)


def test_a_digest_never_seen_is_a_message() -> None:
    copies = copies_of(Copy(7, 2, T0, 0.02, event_since=False))
    assert copies.redelivery_of(b"other", Arrival(1, T0), opt_out, []) is None


def test_the_response_window_is_the_links() -> None:
    copy = Copy(7, 1, T0, 31.0, event_since=False)
    assert copies_of(copy, response_window=60).redelivery_of(
        b"d", Arrival(1, T0), no_opt_out, []) is None


def test_a_copy_in_the_same_batch_counts_from_its_receipt() -> None:
    copies = copies_of(Copy(7, 9, T0, 0.02, event_since=False))
    copies.saw(b"d", 8, None, Arrival(1, T0), events_before=0)
    soon, late = Arrival(1, T0 + timedelta(seconds=1)), Arrival(1, T0 + timedelta(seconds=31))
    assert copies.redelivery_of(b"d", soon, no_opt_out, []) is None
    assert copies.redelivery_of(b"d", late, no_opt_out, []) == 8


def test_a_redelivery_points_at_the_first_copy() -> None:
    copies = copies_of(Copy(7, 1, T0, 0.02, event_since=False))
    copies.saw(b"d", 8, 7, Arrival(2, T0), events_before=0)  # 8 was a redelivery of 7
    assert copies.redelivery_of(b"d", Arrival(3, T0), no_opt_out, []) == 7


def test_a_repeated_ret_after_another_event_for_its_key_is_kept() -> None:
    copies = copies_of(Copy(7, 1, T0, 0.02, event_since=True))
    assert copies.redelivery_of(b"d", Arrival(2, T0), opt_out, []) is None


def test_a_repeated_ret_with_nothing_in_between_is_a_redelivery() -> None:
    copies = copies_of(Copy(7, 1, T0, 0.02, event_since=False))
    other_key = [event(RECIPIENT, "kuzey"), event("+905559998877", "acme")]
    assert copies.redelivery_of(b"d", Arrival(2, T0), opt_out, other_key) == 7


def test_an_event_earlier_in_the_batch_counts_only_after_the_copy() -> None:
    copies = copies_of(Copy(7, 1, T0, 0.02, event_since=False))
    batch = [event(RECIPIENT, "acme")]
    assert copies.redelivery_of(b"d", Arrival(2, T0), opt_out, batch) is None
    copies.saw(b"d", 8, 7, Arrival(2, T0), events_before=1)  # the event came before 8
    assert copies.redelivery_of(b"d", Arrival(3, T0), opt_out, batch) == 7


def test_a_repeated_onay_after_an_event_is_not_applied() -> None:
    # the event since may be a RET: an ambiguous ONAY never undoes it
    copies = copies_of(Copy(7, 1, T0, 0.02, event_since=True))
    assert copies.redelivery_of(b"d", Arrival(2, T0), no_opt_out, []) == 7


def test_a_copy_answered_with_an_error_is_a_redelivery_even_on_its_session() -> None:
    found = copies_of(Copy(7, 1, T0, 0.02, event_since=False))
    found.refused = {b"d"}
    assert found.redelivery_of(b"d", Arrival(1, T0), no_opt_out, []) == 7


def test_refused_keeps_the_latest_digests_per_link() -> None:
    refused = Refused(keep=2)
    refused.remember("a", [b"1", b"2"])
    refused.remember("a", [b"1", b"3"])  # 1 again: now newer than 2
    refused.remember("b", [b"9"])
    assert set(refused.of("a")) == {b"1", b"3"} and set(refused.of("b")) == {b"9"}
    assert not refused.of("c")


# -- the link options ------------------------------------------------------------------------
LINK = {"name": "a", "host": "h", "system_id": "s"}


def test_the_windows_default_to_fifteen_minutes_and_thirty_seconds() -> None:
    (link,) = parse({"link": [LINK]}, {}).links
    assert (link.redelivery_window, link.smsc_response_window) == (900.0, 30.0)
    (link,) = parse({"link": [{**LINK, "smsc_response_window": 75}]}, {}).links
    assert link.smsc_response_window == 75.0


def test_a_response_window_under_a_second_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"link\[a\]\.smsc_response_window"):
        parse({"link": [{**LINK, "smsc_response_window": 0}]}, {})


# -- through the pipeline ------------------------------------------------------------------
async def send(pipeline: Pipeline, link: str, text: str, *, seq: int, session: int = 1,
               dest: str = "4609") -> None:
    await pipeline.accept(link, [received(deliver_pdu(seq, gsm7_unpacked(text), dest=dest),
                                          session=session)])


async def statuses(pool: asyncpg.Pool) -> list[str]:
    return [r["status"] for r in await pool.fetch("SELECT status FROM consent_event ORDER BY id")]


async def redeliveries(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM sms_in WHERE redelivery_of IS NOT NULL AND message_id IS NULL"))


@pytest.mark.parametrize("link", ["l1", "l2"])  # l1 replies (the pool path), l2 is plain
async def test_izin_ret_izin_on_one_session_are_three_messages(
        pipeline: Pipeline, pool: asyncpg.Pool, link: str) -> None:
    for seq, text in enumerate(("IZIN ACME", "RET ACME", "IZIN ACME"), 1):
        await send(pipeline, link, text, seq=seq)
    assert await statuses(pool) == ["ONAY", "RET", "ONAY"]
    assert await pool.fetchval("SELECT count(*) FROM mo_message") == 3
    assert await redeliveries(pool) == 0


async def test_izin_ret_evet_ret_on_the_dedicated_number_keep_the_last_ret(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    for seq, text in enumerate(("IZIN", "RET", "EVET", "RET"), 1):
        await send(pipeline, "l2", text, seq=seq, dest=ACME_0850)
    assert await statuses(pool) == ["ONAY", "RET", "ONAY", "RET"]


async def test_a_ret_repeated_on_a_new_session_after_an_izin_is_kept(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "RET ACME", seq=1)
    await send(pipeline, "l2", "IZIN ACME", seq=2)
    await send(pipeline, "l2", "RET ACME", seq=3, session=2)  # plausible, but IZIN came between
    assert await statuses(pool) == ["RET", "ONAY", "RET"]
    assert await redeliveries(pool) == 0


async def test_a_ret_repeated_on_a_new_session_with_nothing_between_is_a_redelivery(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "RET ACME", seq=1)
    await send(pipeline, "l2", "RET KUZEY", seq=2)  # another brand: not the same key
    await send(pipeline, "l2", "RET ACME", seq=3, session=2)
    assert await statuses(pool) == ["RET", "RET"]
    assert await redeliveries(pool) == 1


async def test_an_izin_repeated_on_a_new_session_after_a_ret_is_not_applied(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "IZIN ACME", seq=1)
    await send(pipeline, "l2", "RET ACME", seq=2)
    await send(pipeline, "l2", "IZIN ACME", seq=3, session=2)
    assert await statuses(pool) == ["ONAY", "RET"]
    first, again = await pool.fetch(
        "SELECT id, redelivery_of, message_id FROM sms_in WHERE sequence IN (1, 3) ORDER BY id")
    assert (again["redelivery_of"], again["message_id"]) == (first["id"], None)


async def test_a_copy_answered_after_the_response_window_is_a_redelivery(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "IZIN ACME", seq=1)
    # its row written 31 s after receipt: the SMSC (30 s window) may have given up on it
    await pool.execute("UPDATE sms_in SET stored_at = received_at + interval '31 seconds'")
    await send(pipeline, "l2", "IZIN ACME", seq=2)
    assert await statuses(pool) == ["ONAY"]
    assert await redeliveries(pool) == 1


async def test_a_copy_older_than_the_redelivery_window_is_a_message(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "IZIN ACME", seq=1)
    await pool.execute("UPDATE sms_in SET received_at = received_at - interval '901 seconds'")
    await send(pipeline, "l2", "IZIN ACME", seq=2, session=2)
    assert await statuses(pool) == ["ONAY", "ONAY"]


async def test_the_redelivery_window_is_the_links(pipeline: Pipeline, pool: asyncpg.Pool,
                                                  writer: BatchWriter) -> None:
    wide = Pipeline(writer, RULES, redelivery_window={"l2": 3600.0})
    await send(wide, "l2", "IZIN ACME", seq=1)
    await pool.execute("UPDATE sms_in SET received_at = received_at - interval '901 seconds'")
    await send(wide, "l2", "IZIN ACME", seq=2, session=2)
    assert await statuses(pool) == ["ONAY"]


async def test_rows_from_before_sessions_were_recorded_count_as_ended_sessions(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l2", "IZIN ACME", seq=1)
    await pool.execute("UPDATE sms_in SET session_id = NULL, stored_at = NULL")
    await send(pipeline, "l2", "IZIN ACME", seq=2)
    assert await redeliveries(pool) == 1


async def test_each_pdu_keeps_its_session_and_when_it_was_stored(
        pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await send(pipeline, "l1", "IZIN ACME", seq=1, session=41)  # replies: two statements
    await send(pipeline, "l2", "IZIN ACME", seq=2, session=42)  # plain: one statement
    rows = await pool.fetch("SELECT session_id, stored_at >= received_at AS after "
                            "FROM sms_in ORDER BY id")
    assert [(r["session_id"], r["after"]) for r in rows] == [(41, True), (42, True)]


class LosingWriter(AsyncpgWriter):
    """The writer, losing the result of one committed statement when told to."""

    lose_next = False

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        copies = await super().insert_new(rows, since)
        if self.lose_next:
            self.lose_next = False
            raise BatchNotStored("connection lost after the commit")
        return copies


async def test_a_copy_of_a_pdu_committed_but_answered_with_an_error_is_stored_once(
        dsn: str, pool: asyncpg.Pool, pipeline: Pipeline) -> None:
    losing = LosingWriter(pool)
    service = Pipeline(losing, RULES)
    losing.lose_next = True
    with pytest.raises(BatchNotStored):  # the session answers ESME_RX_T_APPN
        await send(service, "l2", "RET ACME", seq=1)
    await send(service, "l2", "RET ACME", seq=2)  # the SMSC's resend, same session
    assert await statuses(pool) == ["RET"]
    assert await redeliveries(pool) == 1
