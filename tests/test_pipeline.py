"""The pipeline against a real PostgreSQL: what each kind of PDU becomes once committed."""

from __future__ import annotations

import struct

import asyncpg
import pytest

from inbound import store
from inbound.pipeline import Pipeline
from inbound.service import DEMO_RULES
from inbound.writer import BatchNotStored, BatchWriter
from keywords import RuleSet
from tests.pdus import deliver_pdu, gsm7_unpacked, ie_concat8, ie_concat16, ucs2, udh
from tests.pipelines import outcomes, received


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

