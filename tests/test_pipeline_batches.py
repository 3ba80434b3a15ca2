"""The pipeline's batches against a real PostgreSQL: how many statements a batch takes,
batches in flight together, the events' brands, and what a committed batch tells others."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import asyncpg
import pytest
from prometheus_client import REGISTRY

from inbound import store
from inbound.pipeline import Pipeline
from inbound.writer import (
    AsyncpgWriter,
    BatchNotStored,
    BatchRows,
    BatchWriter,
    EarlierCopy,
    Prepared,
)
from keywords import RuleSet
from tests.pdus import deliver_pdu, gsm7_unpacked, ie_concat8, ucs2, udh
from tests.pipelines import RULES, outcomes, received, store_demo_rules, warm
from tests.waiting import wait_until


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
    await store_demo_rules(pool)
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
    await store_demo_rules(pool)
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
    await store_demo_rules(pool)
    pipeline = Pipeline(writer, RULES)
    await pipeline.accept("l1", [received(deliver_pdu(1, gsm7_unpacked("RET ACME"))),
                                 received(deliver_pdu(2, gsm7_unpacked("MERHABA")))])
    assert pipeline.intake.rate() == 2


async def test_on_events_is_told_once_per_committed_batch_with_events(
    pool: asyncpg.Pool, writer: BatchWriter
) -> None:
    await store_demo_rules(pool)
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
