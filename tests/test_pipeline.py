"""The pipeline against a real PostgreSQL: what each kind of PDU becomes once committed."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest
from prometheus_client import REGISTRY

from inbound import store
from inbound.pipeline import Pipeline
from inbound.service import DEMO_RULES
from inbound.writer import (
    AsyncpgWriter,
    BatchNotStored,
    BatchRows,
    BatchWriter,
    EarlierCopy,
    Prepared,
)
from keywords import RuleSet
from smpp_bind import pdu
from smpp_bind.session import Received
from tests.pdus import deliver_pdu, gsm7_unpacked, ie_concat8, ie_concat16, ucs2, udh
from tests.waiting import wait_until

RULES = RuleSet.from_toml(DEMO_RULES.read_text(encoding="utf-8"))


def received(raw: bytes, session: int = 1) -> Received:
    """``raw`` as read by the SMPP session ``session`` (a new number: a new bind)."""
    header = pdu.parse_header(raw)
    try:
        parsed: pdu.DeliverSm | None = pdu.parse_deliver_sm(raw)
        error = None
    except pdu.PduError as exc:
        parsed, error = None, str(exc)
    return Received(header.command_id, header.sequence, raw, datetime.now(UTC), parsed, error,
                    session=session)


@pytest.fixture
async def pipeline(pool: asyncpg.Pool, writer: BatchWriter) -> Pipeline:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    return Pipeline(writer, RULES, reply_links=frozenset({"l1"}), reply_interval=3600)


async def outcomes(pool: asyncpg.Pool) -> list[str]:
    return [r["outcome"] for r in await pool.fetch("SELECT outcome FROM mo_message ORDER BY id")]


async def test_single_ret_creates_message_event_and_reply(pipeline: Pipeline,
                                                          pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME")))])
    assert await outcomes(pool) == ["consent"]
    event = await pool.fetchrow("SELECT * FROM consent_event")
    assert (event["recipient"], event["status"], event["type"], event["source"]) == (
        "+905321234567", "RET", "MESAJ", "HS_MESAJ")
    assert event["deadline_at"] > event["received_at"]
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 1


async def test_identical_pdu_on_a_new_session_is_a_redelivery(pipeline: Pipeline,
                                                               pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME")))])
    await pipeline.accept("l1", [received(deliver_pdu(77, gsm7_unpacked("RET ACME")),
                                          session=2)])
    rows = await pool.fetch("SELECT id, redelivery_of FROM sms_in ORDER BY id")
    assert rows[1]["redelivery_of"] == rows[0]["id"]
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 1
    assert await pool.fetchval("SELECT count(*) FROM mo_message") == 1


async def test_same_pdu_on_another_link_is_not_a_redelivery(pipeline: Pipeline,
                                                            pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("IZIN ACME")))])
    await pipeline.accept("l2", [received(deliver_pdu(1, gsm7_unpacked("IZIN ACME")))])
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 2


async def test_three_parts_out_of_order_with_a_repeat_make_one_message(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    text = "RET ACME " + "x" * 300  # the canonical RET with its brand, whatever follows
    chunks = [text[:150], text[150:300], text[300:]]
    part = {i: deliver_pdu(10 + i, udh(ie_concat8(42, 3, i)) + gsm7_unpacked(c), esm_class=0x40)
            for i, c in enumerate(chunks, 1)}
    await pipeline.accept("l1", [received(part[3])])
    await pipeline.accept("l1", [received(part[1]), received(part[3])])
    assert await outcomes(pool) == []  # still waiting for part 2
    await pipeline.accept("l1", [received(part[2])])
    rows = await pool.fetch("SELECT text, outcome FROM mo_message")
    assert [(r["text"], r["outcome"]) for r in rows] == [(text, "consent")]
    assert await pool.fetchval("SELECT count(*) FROM sms_in WHERE message_id IS NOT NULL") == 3


async def test_sixteen_bit_reference_parts_assemble(pipeline: Pipeline,
                                                    pool: asyncpg.Pool) -> None:
    parts = [deliver_pdu(i, udh(ie_concat16(0xBEEF, 2, i)) + ucs2(t), esm_class=0x40,
                         data_coding=8) for i, t in ((1, "İZİN "), (2, "ACME"))]
    await pipeline.accept("l1", [received(p) for p in parts])
    assert await pool.fetchval("SELECT text FROM mo_message") == "İZİN ACME"


async def test_sar_tlvs_concatenate(pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    def sar(seq: int) -> bytes:
        return (struct.pack(">HHH", 0x020C, 2, 513) + struct.pack(">HHB", 0x020E, 1, 2)
                + struct.pack(">HHB", 0x020F, 1, seq))
    await pipeline.accept("l1", [received(deliver_pdu(2, b"ACME", tlvs=sar(2))),
                                 received(deliver_pdu(1, b"RET ", tlvs=sar(1)))])
    assert await pool.fetchval("SELECT text FROM mo_message") == "RET ACME"


async def test_incomplete_message_times_out_into_a_stored_outcome(pipeline: Pipeline,
                                                                  pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(
        1, udh(ie_concat8(9, 2, 1)) + gsm7_unpacked("RET AC"), esm_class=0x40))])
    assert await pipeline.resolve_incomplete(older_than=0) == 1
    row = await pool.fetchrow("SELECT text, outcome, reason FROM mo_message")
    assert (row["text"], row["outcome"]) == ("RET AC", "incomplete")
    assert "1 of 2" in row["reason"]
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0


async def test_delivery_receipt_is_stored_as_receipt_without_matching(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    text = b"id:123 sub:001 dlvrd:001 submit date:2611231200 done date:2611231201 stat:DELIVRD"
    await pipeline.accept("l1", [received(deliver_pdu(1, text + b" RET ACME", esm_class=0x04))])
    assert await pool.fetchval("SELECT kind FROM sms_in") == "delivery_receipt"
    assert await outcomes(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 0


async def test_malformed_pdu_is_stored_with_an_outcome(pipeline: Pipeline,
                                                       pool: asyncpg.Pool) -> None:
    raw = deliver_pdu(5, b"RET ACME")[:30]  # cut inside the mandatory fields
    raw = struct.pack(">I", len(raw)) + raw[4:]
    await pipeline.accept("l1", [received(raw)])
    row = await pool.fetchrow("SELECT command, kind, pdu FROM sms_in")
    assert (row["command"], row["kind"], row["pdu"]) == ("malformed", "malformed", raw)
    assert await outcomes(pool) == ["malformed"]


async def test_alphanumeric_sender_is_invalid_sender_and_never_pushed(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, b"RET ACME", source="ACME", ton=5))])
    assert await outcomes(pool) == ["invalid_sender"]
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0


@pytest.mark.parametrize(
    ("text", "dest", "outcome"),
    [("merhaba", "4609", "no_keyword"), ("RET", "4609", "ambiguous"),
     ("RET FOO", "4609", "unknown_brand"), ("RET ACME", "9999", "unknown_number")],
)
async def test_every_outcome_is_stored(pipeline: Pipeline, pool: asyncpg.Pool, text: str,
                                       dest: str, outcome: str) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked(text), dest=dest))])
    assert await outcomes(pool) == [outcome]


async def test_binary_message_is_not_text(pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, b"\x01\x02\xff", data_coding=4))])
    assert await outcomes(pool) == ["not_text"]


async def test_tumu_creates_one_event_per_type(pipeline: Pipeline, pool: asyncpg.Pool) -> None:
    await pipeline.accept("l1", [received(deliver_pdu(1, b"IZIN ACME TUMU"))])
    types = {r["type"] for r in await pool.fetch("SELECT type FROM consent_event")}
    assert types == {"MESAJ", "ARAMA"}


async def reply_kinds(pool: asyncpg.Pool) -> list[str]:
    return [r["kind"] for r in await pool.fetch("SELECT kind FROM sms_out ORDER BY id")]


async def test_a_change_of_status_is_always_confirmed_a_repeat_is_not(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """An ONAY confirmation within the hour must not swallow the RET's (issue #24)."""
    await pipeline.accept("l1", [received(deliver_pdu(1, b"IZIN ACME")),
                                 received(deliver_pdu(2, b"RET ACME"))])
    await pipeline.accept("l1", [received(deliver_pdu(3, b"RET ACME"))])
    await pipeline.accept("l1", [received(deliver_pdu(4, b"IZIN KUZEY"))])
    assert await reply_kinds(pool) == ["acme:ONAY", "acme:RET", "kuzey:ONAY"]


async def test_at_most_a_few_replies_an_hour_to_one_recipient(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """An auto-responder answering each reply with IZIN/RET flips cannot loop."""
    # distinct bytes each: identical PDUs would raise the redelivery question instead
    texts = [b"IZIN ACME", b"RET ACME", b"izin acme", b"ret acme", b"Izin Acme", b"Ret Acme",
             b"IZIN acme", b"RET acme"]
    for sequence, text in enumerate(texts, start=1):
        await pipeline.accept("l1", [received(deliver_pdu(sequence, text))])
    assert await reply_kinds(pool) == ["acme:ONAY", "acme:RET"] * 2
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 8


# l1 replies (explicit transaction), l2 does not (the one-statement path)
@pytest.mark.parametrize("link", ["l1", "l2"])
async def test_failed_batch_stores_nothing(pipeline: Pipeline, pool: asyncpg.Pool,
                                           link: str) -> None:
    await pool.execute("ALTER TABLE consent_event ADD CONSTRAINT nope CHECK (false) NOT VALID")
    with pytest.raises(BatchNotStored) as refused:  # the writer's own error, either path
        await pipeline.accept(link, [received(deliver_pdu(1, b"RET ACME"))])
    assert refused.value.sqlstate == "23514"  # check_violation
    assert await pool.fetchval("SELECT count(*) FROM sms_in") == 0
    assert await pool.fetchval("SELECT count(*) FROM mo_message") == 0


async def test_reply_uses_the_numbers_own_template(pool: asyncpg.Pool,
                                                   writer: BatchWriter) -> None:
    toml = DEMO_RULES.read_text(encoding="utf-8").replace(
        'shared = true', 'shared = true\nreplies = { RET = "4609: {brand} iletileri kapandi" }')
    rules = RuleSet.from_toml(toml)
    async with pool.acquire() as conn:
        await store.replace_rules(conn, rules.to_dict())
    pipeline = Pipeline(writer, rules, reply_links=frozenset({"l1"}), reply_interval=3600)
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME")))])
    assert await pool.fetchval("SELECT text FROM sms_out") == "4609: ACME iletileri kapandi"


# -- the one-statement path (a link without replies) and concurrent batches ---------------

async def test_plain_batch_with_a_repeat_and_a_redelivery(pipeline: Pipeline,
                                                          pool: asyncpg.Pool) -> None:
    # PDU 1 again after a reconnect (session 2) is a redelivery; IZIN twice in one batch of
    # one session is a person's repeat (the SMSC does not resend what it still waits for)
    ret = gsm7_unpacked("RET ACME")
    await pipeline.accept("l2", [received(deliver_pdu(1, ret))])
    await pipeline.accept("l2", [
        received(deliver_pdu(2, ret), session=2),
        received(deliver_pdu(3, b"IZIN ACME", source="905551112233"), session=2),
        received(deliver_pdu(4, b"IZIN ACME", source="905551112233"), session=2)])
    rows = await pool.fetch("SELECT id, sequence, redelivery_of, message_id FROM sms_in "
                            "ORDER BY sequence")
    first, again, izin, izin_again = rows
    assert (again["redelivery_of"], again["message_id"]) == (first["id"], None)
    assert izin_again["redelivery_of"] is None
    assert izin_again["message_id"] not in (None, izin["message_id"])
    assert await pool.fetchval("SELECT count(*) FROM mo_message") == 3
    assert sorted(r["status"] for r in await pool.fetch("SELECT status FROM consent_event")) == [
        "ONAY", "ONAY", "RET"]
    fields = await pool.fetchval("SELECT fields FROM sms_in WHERE id = $1", first["id"])
    assert fields["destination_addr"] == "4609"


def redeliveries(link: str) -> float:
    return REGISTRY.get_sample_value("iys_inbound_redeliveries_total", {"link": link}) or 0.0


class RecordingWriter(AsyncpgWriter):
    """The writer, noting each plain-batch call with its rows (and window start)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.sent: list[tuple[str, BatchRows, datetime | None]] = []

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        self.sent.append(("insert_new", rows, since))
        return await super().insert_new(rows, since)

    async def prepare(self, link: str, digests: Sequence[bytes], since: datetime,
                      sms_in_count: int, message_count: int, recipients: Sequence[str],
                      replies_since: datetime, concat_keys: Sequence[str]) -> Prepared:
        self.sent.append(("prepare", BatchRows(link), since))
        return await super().prepare(link, digests, since, sms_in_count, message_count,
                                     recipients, replies_since, concat_keys)

    async def write(self, rows: BatchRows) -> None:
        self.sent.append(("write", rows, None))
        await super().write(rows)


@contextlib.asynccontextmanager
async def recording_pipeline(pool: asyncpg.Pool) -> AsyncIterator[
        tuple[Pipeline, RecordingWriter]]:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    recording = RecordingWriter(pool)
    yield Pipeline(recording, RULES), recording


async def test_a_plain_batch_is_one_statement_and_one_with_a_redelivery_two(
    pool: asyncpg.Pool
) -> None:
    async with recording_pipeline(pool) as (pipeline, recording):
        ret, izin = gsm7_unpacked("RET ACME"), gsm7_unpacked("IZIN ACME")
        await pipeline.accept("l3", [received(deliver_pdu(1, ret)),
                                     received(deliver_pdu(2, izin, source="905551112233"))])
        assert [call for call, _, _ in recording.sent] == ["insert_new"]
        assert await pool.fetchval("SELECT count(*) FROM consent_event WHERE message_id IN "
                                   "(SELECT id FROM mo_message WHERE link = 'l3')") == 2
        # after a reconnect: a redelivery of PDU 1, a new PDU and its repeat within the
        # batch (a message of its own); the first statement finds the copy of PDU 1 and
        # writes nothing, the second writes the batch
        recording.sent.clear()
        counted = redeliveries("l3")
        await pipeline.accept("l3", [
            received(deliver_pdu(3, ret), session=2),
            received(deliver_pdu(4, ret, source="905553334455"), session=2),
            received(deliver_pdu(5, ret, source="905553334455"), session=2)])
        assert [call for call, _, _ in recording.sent] == ["insert_new", "write"]
    rows = {r["sequence"]: r for r in await pool.fetch("SELECT * FROM sms_in WHERE link = 'l3'")}
    assert rows[3]["redelivery_of"] == rows[1]["id"] and rows[3]["message_id"] is None
    assert rows[5]["redelivery_of"] is None and rows[5]["message_id"] is not None
    assert rows[4]["message_id"] is not None and rows[4]["redelivery_of"] is None
    assert len(rows) == 5
    assert await pool.fetchval("SELECT count(*) FROM mo_message WHERE link = 'l3'") == 4
    assert await pool.fetchval("SELECT count(*) FROM consent_event WHERE message_id IN "
                               "(SELECT id FROM mo_message WHERE link = 'l3')") == 4
    assert redeliveries("l3") - counted == 1  # once, though the batch was built twice


async def warm(pool: asyncpg.Pool) -> None:
    """Open pool connections ahead, so that concurrent batches really overlap (with one
    connection the second batch would wait for it and see the first one committed)."""
    async with pool.acquire(), pool.acquire(), pool.acquire():
        pass


async def test_concurrent_batches_on_a_reply_link_send_one_reply(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    """The second batch sees the first one's reply: a repeated confirmation is not sent."""
    await warm(pool)
    await asyncio.gather(pipeline.accept("l1", [received(deliver_pdu(1, b"RET ACME"))]),
                         pipeline.accept("l1", [received(deliver_pdu(2, b"ret acme"))]))
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 2
    assert await pool.fetchval("SELECT count(*) FROM sms_out") == 1


class GatedWriter(AsyncpgWriter):
    """Holds the first plain batch before its statement until ``release`` is set."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self.calls = 0
        self.release = asyncio.Event()

    async def insert_new(self, rows: BatchRows, since: datetime) -> list[EarlierCopy]:
        self.calls += 1
        if self.calls == 1:
            await self.release.wait()
        return await super().insert_new(rows, since)


def second_registered(pipeline: Pipeline) -> bool:
    return len(pipeline._inflight.get("l2", [])) == 2


async def test_concurrent_batches_with_the_same_pdu_store_one_message(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    ret = gsm7_unpacked("RET ACME")
    await warm(pool)
    gated = GatedWriter(pool)  # the first batch's statement waits until the test lets it go
    pipeline.writer = gated
    # the second on a new session (a reconnect while the first still commits): on another
    # pool connection it would not see the first one's row; it waits for it instead
    first = asyncio.create_task(pipeline.accept("l2", [received(deliver_pdu(1, ret))]))
    await wait_until(lambda: gated.calls == 1, what="the first batch in the writer")
    second = asyncio.create_task(pipeline.accept("l2", [received(deliver_pdu(2, ret),
                                                                 session=2)]))
    await wait_until(lambda: second_registered(pipeline), what="the second batch")
    assert gated.calls == 1  # the second has not reached the writer: it waits
    gated.release.set()
    await asyncio.gather(first, second)
    assert gated.calls == 2
    rows = await pool.fetch("SELECT id, redelivery_of FROM sms_in ORDER BY sequence")
    assert rows[1]["redelivery_of"] == rows[0]["id"]
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 1


async def test_concurrent_batches_with_parts_of_one_message_assemble_it(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    parts = [deliver_pdu(i, udh(ie_concat8(7, 2, i)) + gsm7_unpacked(t), esm_class=0x40)
             for i, t in ((1, "IZIN "), (2, "ACME"))]
    await warm(pool)
    await asyncio.gather(*(pipeline.accept("l2", [received(p)]) for p in parts))
    rows = await pool.fetch("SELECT text, outcome FROM mo_message")
    assert [(r["text"], r["outcome"]) for r in rows] == [("IZIN ACME", "consent")]


async def test_new_rules_are_used_at_once_for_a_text_seen_before(pipeline: Pipeline,
                                                                 pool: asyncpg.Pool) -> None:
    await pipeline.accept("l2", [received(deliver_pdu(1, b"RET ACME"))])
    pipeline.rules = RuleSet.from_dict({"number": [], "brand": []})
    await pipeline.accept("l2", [received(deliver_pdu(2, b"RET ACME", source="905551112233"))])
    assert await outcomes(pool) == ["consent", "unknown_number"]


async def test_plain_batch_ids_follow_arrival_and_rows_refer_to_each_other(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    senders = [f"90532{n:07d}" for n in range(5)]
    await pipeline.accept("l2", [received(deliver_pdu(n, b"RET ACME", source=s))
                                 for n, s in enumerate(senders, 1)])
    rows = await pool.fetch(
        "SELECT s.id, s.sequence, s.message_id, m.id AS mid, m.source_addr, e.message_id AS eid"
        "  FROM sms_in s JOIN mo_message m ON m.id = s.message_id"
        "  JOIN consent_event e ON e.message_id = m.id ORDER BY s.id")
    assert [r["sequence"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["source_addr"] for r in rows] == senders
    assert [r["mid"] for r in rows] == sorted(r["mid"] for r in rows)
    assert all(r["message_id"] == r["mid"] == r["eid"] for r in rows)


# -- the events' brands (no foreign key on the hot path: migrations/0005_hot_path.sql) ------

async def _event_of_brand(pool: asyncpg.Pool, brand_id: str) -> None:
    """An event of a brand no number or vocabulary refers to (only the event holds it)."""
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES ($1, $1, 1, 2)",
                       brand_id)
    message_id = await pool.fetchval(
        "INSERT INTO mo_message (link, received_at, completed_at, outcome)"
        " VALUES ('l1', now(), now(), 'consent') RETURNING id")
    await pool.execute(
        "INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,"
        " recipient_type, type, status, received_at, consent_date, deadline_at)"
        " VALUES ($1, $2, 1, 2, '+905321234567', 'BIREYSEL', 'MESAJ', 'RET', now(), now(),"
        " now() + interval '3 days')", message_id, brand_id)


async def test_a_brand_with_events_can_be_neither_deleted_nor_renamed(
    pipeline: Pipeline, pool: asyncpg.Pool
) -> None:
    await _event_of_brand(pool, "solo")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="has consent events"):
        await pool.execute("DELETE FROM brand WHERE id = 'solo'")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="has consent events"):
        await pool.execute("UPDATE brand SET id = 'renamed' WHERE id = 'solo'")
    await pool.execute("UPDATE brand SET name = 'Solo' WHERE id = 'solo'")  # not its id: fine
    await pool.execute("INSERT INTO brand (id, name, iys_code, brand_code) VALUES"
                       " ('empty', 'Empty', 1, 3)")
    await pool.execute("DELETE FROM brand WHERE id = 'empty'")  # no events: it may go
    assert await pool.fetchval("SELECT array_agg(id ORDER BY id) FROM brand"
                               " WHERE id IN ('solo', 'empty')") == ["solo"]


async def test_events_for_a_brand_missing_from_the_database_fail_the_whole_batch(
    pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    # rules in memory still name a brand the database no longer has (deleted meanwhile):
    # the batch fails as a foreign key would have failed it, and nothing of it is stored
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    stale = RULES.to_dict()
    stale["brand"][0]["id"] = "ghost"
    stale["number"][1]["brand"] = "ghost"
    pipeline = Pipeline(writer, RuleSet.from_dict(stale))
    with pytest.raises(BatchNotStored, match="ghost") as refused:
        await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME"))),
                                     received(deliver_pdu(2, gsm7_unpacked("IZIN KUZEY")))])
    assert refused.value.sqlstate == "23503"  # a foreign key's error code
    assert await pool.fetchval("SELECT count(*) FROM sms_in") == 0
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0


async def test_the_brand_check_runs_in_the_statement_and_calls_no_function(
    pool: asyncpg.Pool
) -> None:
    # a PL/pgSQL check was planned again at every call (migrations/0008): the statement looks
    # for a missing brand itself and calls iys_brand_missing only to fail (test above)
    async with recording_pipeline(pool) as (pipeline, recording):
        await pipeline.accept("l4", [received(deliver_pdu(1, gsm7_unpacked("RET ACME"))),
                                     received(deliver_pdu(2, gsm7_unpacked("IZIN KUZEY")))])
    [(sent, rows, since)] = recording.sent
    assert sent == "insert_new"
    assert sorted(r["brand_id"] for r in await pool.fetch("SELECT brand_id FROM consent_event")
                  ) == ["acme", "kuzey"]
    # the same statement again, in a transaction counting PL/pgSQL calls: it finds its
    # originals and writes nothing, but checks the brands as every batch does
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL track_functions = 'pl'")
        assert since is not None
        row = await conn.fetchrow(store.SQL.insert_new_mo_batch, rows.link, rows.sms_in,
                                  rows.messages, rows.events, since)
        assert row["brands_exist"] is True and row["sms_in"] == 0
        # only the statement-level triggers of the events table, once per statement, not per
        # row: the webhook outbox (migration 0027, issue #32) and the daily tally (0029, #27);
        # no brand check
        assert sorted(tuple(r) for r in await conn.fetch(
            "SELECT funcname, calls FROM pg_stat_xact_user_functions")) == [
            ("iys_tally_insert", 1), ("webhook_consent_inserted", 1)]
        await conn.execute("SELECT iys_require_brands($1::text[])", ["acme"])  # the counter works
        assert sorted(r["funcname"] for r in await conn.fetch(
            "SELECT funcname FROM pg_stat_xact_user_functions")) == [
            "iys_require_brands", "iys_tally_insert", "webhook_consent_inserted"]


async def test_committed_pdus_are_counted_for_the_push_sides_intake_meter(
    pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    pipeline = Pipeline(writer, RULES)
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME"))),
                                 received(deliver_pdu(2, gsm7_unpacked("MERHABA")))])
    assert pipeline.intake.rate() == 2


async def test_on_events_is_told_once_per_committed_batch_with_events(
    pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    async with pool.acquire() as conn:
        await store.replace_rules(conn, RULES.to_dict())
    told: list[bool] = []
    pipeline = Pipeline(writer, RULES, on_events=lambda: told.append(True))
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("MERHABA")))])
    assert told == []                         # no event: nobody is woken
    await pipeline.accept("l1", [received(deliver_pdu(2, gsm7_unpacked("RET ACME"))),
                                 received(deliver_pdu(3, gsm7_unpacked("RET KUZEY")))])
    assert told == [True]                     # one batch, one wake-up
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 2


async def test_each_pdu_keeps_its_own_header_fields_as_evidence(pipeline: Pipeline,
                                                                 pool: asyncpg.Pool) -> None:
    """The fields JSON is remembered per distinct header, yet each PDU's is its own: PDUs that
    differ only in sender and text have equal fields; another field or a TLV shows."""
    source_port = struct.pack(">HH", 0x020A, 2) + b"\x1f\x90"
    await pipeline.accept("l2", [
        received(deliver_pdu(1, gsm7_unpacked("RET ACME"), source="905321234567")),
        received(deliver_pdu(2, gsm7_unpacked("IZIN ACME"), source="905321234568")),
        received(deliver_pdu(3, gsm7_unpacked("RET ACME"), dest="08501234567")),
        received(deliver_pdu(4, gsm7_unpacked("RET ACME"), tlvs=source_port)),
        received(deliver_pdu(5, ucs2("RET ACME"), data_coding=8)),
    ])
    fields = [r["fields"] for r in await pool.fetch("SELECT fields FROM sms_in ORDER BY id")]
    assert [f["destination_addr"] for f in fields] == ["4609", "4609", "08501234567", "4609",
                                                       "4609"]
    assert [f["tlvs"] for f in fields] == [{}, {}, {}, {"0x020A": "1f90"}, {}]
    assert [f["data_coding"] for f in fields] == [0, 0, 0, 0, 8]
    assert fields[0] == fields[1]
    assert set(fields[0]) == {
        "service_type", "source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi",
        "destination_addr", "esm_class", "protocol_id", "priority_flag",
        "schedule_delivery_time", "validity_period", "registered_delivery",
        "replace_if_present_flag", "data_coding", "sm_default_msg_id", "tlvs"}
