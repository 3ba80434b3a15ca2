"""SMPP links against an independent SMSC (npm ``smpp``) and a real PostgreSQL (issue #3)."""

from __future__ import annotations

import asyncio
import random
import struct
from collections.abc import AsyncIterator

import pytest

from inbound import db
from smpp_bind import pdu
from tests.smsc_peer import (
    NodeSmsc,
    gsm7_unpacked,
    ie_concat8,
    ie_concat16,
    ie_turkish_single_shift,
    ucs2,
    udh,
)
from tests.stack import PEER_PASSWORD, Stack, running_stack
from tests.waiting import wait_until

MO = {"source_addr": "905321234567", "source_addr_ton": 1, "source_addr_npi": 1,
      "destination_addr": "4609"}


@pytest.fixture
async def stack(dsn: str) -> AsyncIterator[Stack]:
    async with running_stack(dsn) as running:
        yield running


async def stored_texts(stack: Stack) -> list[str]:
    return [r["text"] for r in await stack.pool.fetch("SELECT text FROM mo_message ORDER BY id")]


async def test_turkish_text_in_gsm7_with_the_turkish_single_shift_table(stack: Stack) -> None:
    text = "ızın ACME, sağolun teşekkürler"  # ı ğ ş ü; every word in the ONAY grammar
    seq = await stack.smsc.deliver(**MO, esm_class=0x40, data_coding=0,
                                   short_message=udh(ie_turkish_single_shift())
                                   + gsm7_unpacked(text, single_shift=1))
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stored_texts(stack) == [text]
    assert await stack.count("SELECT count(*) FROM consent_event WHERE status = 'ONAY'") == 1


async def test_the_same_turkish_text_in_ucs2(stack: Stack) -> None:
    text = "İZİN ACME şğıç 😀"
    seq = await stack.smsc.deliver(**MO, data_coding=8, short_message=ucs2(text))
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stored_texts(stack) == [text]


async def test_three_parts_out_of_order_with_one_repeated(stack: Stack) -> None:
    text = "RET ACME " + "lütfen artık mesaj göndermeyin " * 9
    chunks = [text[i:i + 100] for i in range(0, len(text), 100)]
    assert len(chunks) == 3
    for order in (2, 0, 2, 1):
        seq = await stack.smsc.deliver(**MO, esm_class=0x40, data_coding=8,
                                       short_message=udh(ie_concat8(7, 3, order + 1))
                                       + ucs2(chunks[order]))
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stored_texts(stack) == [text]
    assert await stack.count("SELECT count(*) FROM sms_in") == 4


async def test_sixteen_bit_reference(stack: Stack) -> None:
    for i, part in enumerate(("IZIN ", "ACME"), 1):
        seq = await stack.smsc.deliver(**MO, esm_class=0x40, data_coding=0,
                                       short_message=udh(ie_concat16(0x1234, 2, i))
                                       + gsm7_unpacked(part))
        await stack.smsc.wait_resp(seq)
    assert await stored_texts(stack) == ["IZIN ACME"]


async def test_sar_tlvs(stack: Stack) -> None:
    for i, part in enumerate(("RET ", "ACME"), 1):
        seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=gsm7_unpacked(part),
                                       sar_msg_ref_num=300, sar_total_segments=2,
                                       sar_segment_seqnum=i)
        await stack.smsc.wait_resp(seq)
    assert await stored_texts(stack) == ["RET ACME"]


async def test_message_payload_of_600_characters(stack: Stack) -> None:
    text = "IZIN ACME " + "a" * 590
    seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"",
                                   message_payload=gsm7_unpacked(text))
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stored_texts(stack) == [text]


async def test_vendor_tlvs_are_kept_and_do_not_break_parsing(stack: Stack) -> None:
    seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME",
                                   tlvs={0x1400: b"\x01\x02", 0x3FFF: b"vendor"})
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    fields = await stack.pool.fetchval("SELECT fields FROM sms_in")
    assert fields["tlvs"]["0x1400"] == "0102" and fields["tlvs"]["0x3FFF"] == b"vendor".hex()


async def test_delivery_receipt_is_stored_as_a_receipt(stack: Stack) -> None:
    seq = await stack.smsc.deliver(
        **MO, esm_class=0x04, data_coding=0,
        short_message=b"id:abc sub:001 dlvrd:001 submit date:2611231200 "
                      b"done date:2611231201 stat:DELIVRD err:000 text:RET ACME",
        receipted_message_id="abc", message_state=2)
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stack.count("SELECT count(*) FROM sms_in WHERE kind = 'delivery_receipt'") == 1
    assert await stack.count("SELECT count(*) FROM mo_message") == 0
    assert await stack.count("SELECT count(*) FROM consent_event") == 0


async def test_drop_inside_a_window_of_twenty_then_redelivery_stores_each_once(
    dsn: str,
) -> None:
    from tests.smsc_peer import NodeSmsc

    async with NodeSmsc(password="secret", redeliver_on_rebind=True) as smsc, \
            running_stack(dsn, smsc=smsc) as stack:
        # a warm-up message first: the batch connection connects and prepares its statements
        # on first use, and a first batch blocked while preparing is cancelled before it is
        # ever sent, so the re-sent PDUs would be plain new ones and this test would pass
        # without any redelivery detection
        warm = await smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME warm")
        assert (await smsc.wait_resp(warm))["status"] == 0
        blocker = await db.connect(dsn)
        tx = blocker.transaction()
        await tx.start()
        await blocker.execute("LOCK TABLE sms_in IN ACCESS EXCLUSIVE MODE")
        sent = [await smsc.deliver(**{**MO, "source_addr": f"9053212345{i:02d}"},
                                   data_coding=0, short_message=f"RET ACME {i}".encode())
                for i in range(20)]
        await smsc.expect_no_resp(sent[-1], within=0.3)
        await smsc.drop()                 # the window of 20 is unanswered
        await tx.rollback()
        await blocker.close()
        await smsc.wait_bound()           # the service reconnects; the peer re-sends all 20
        await wait_until(lambda: _all_answered(smsc, 21), what="20 answers after rebind")
        assert await stack.count("SELECT count(*) FROM mo_message") == 21
        assert await stack.count("SELECT count(DISTINCT text) FROM mo_message") == 21
        assert await stack.count("SELECT count(*) FROM consent_event") == 21
        # each of the 20 reached us twice or once: every copy after the first is a redelivery
        copies = await stack.count(
            "SELECT count(*) FROM sms_in WHERE text LIKE 'RET ACME %' AND text <> 'RET ACME warm'")
        redeliveries = await stack.count(
            "SELECT count(*) FROM sms_in WHERE redelivery_of IS NOT NULL")
        assert copies - redeliveries == 20


async def _all_answered(smsc: object, n: int) -> bool:
    ok = [e for e in smsc.events  # type: ignore[attr-defined]
          if e.get("event") == "deliver_sm_resp" and e.get("status") == 0]
    return len(ok) >= n


async def test_database_unavailable_then_back_stores_everything_once(
    stack: Stack, dsn: str, pg_server_dsn: str
) -> None:
    name = dsn.split("?")[0].rsplit("/", 1)[1]
    admin = await db.connect(pg_server_dsn)
    try:
        # the database goes away for this service: no new connections, existing ones killed
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid()", name)
        texts = [f"RET ACME {i}" for i in range(5)]
        statuses = []
        for text in texts:
            seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=text.encode())
            statuses.append((await stack.smsc.wait_resp(seq))["status"])
        assert set(statuses) == {pdu.ESME_RX_T_APPN}
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        async def resend_until_stored() -> bool:  # what an SMSC does after a temporary error
            for text in texts:
                seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=text.encode())
                if (await stack.smsc.wait_resp(seq))["status"] != 0:
                    return False
            return True

        await wait_until(resend_until_stored, timeout=20, what="database back")
        assert sorted(await stored_texts(stack)) == texts
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_wrong_password_is_logged_by_name_and_does_not_hammer(dsn: str) -> None:
    async with running_stack(dsn, wait_bound=False, password="wrong",
                             reconnect_min=0.05, reconnect_max=1.0) as stack:
        await stack.smsc.wait_event("bind", lambda e: e["status"] == 0x0E)
        start = stack.smsc.mark()
        await asyncio.sleep(1.5)  # an observation window to count binds in, not a sync point
        binds = stack.smsc.count("bind", lambda e: stack.smsc.events.index(e) >= start)
        # a refused password waits the longest backoff (1 s here) before each try
        assert binds <= 2
        from inbound import metrics
        refused = metrics.BIND_FAILURES.labels("peer", "ESME_RINVPASWD")._value.get()
        assert refused >= 1


async def test_smsc_unbind_is_answered_and_followed_by_a_reconnect(stack: Stack) -> None:
    await stack.smsc.unbind()
    await stack.smsc.wait_event("unbind_resp")
    await stack.smsc.wait_bound()
    seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME")
    assert (await stack.smsc.wait_resp(seq))["status"] == 0


async def test_a_thousand_random_pdus_do_not_crash_the_link(stack: Stack) -> None:
    rng = random.Random(20261123)
    commands = [pdu.DELIVER_SM, pdu.DATA_SM, pdu.SUBMIT_SM, 0x7777, pdu.ENQUIRE_LINK_RESP]
    for _ in range(1000):
        body = rng.randbytes(rng.randrange(0, 120))
        header = struct.pack(">IIII", 16 + len(body), rng.choice(commands), 0,
                             rng.randrange(1, 0x7FFFFFFF))
        await stack.smsc.send_raw(header + body)
    for _ in range(3):  # unframeable garbage: each costs a reconnect, never the process
        await stack.smsc.send_raw(b"\xff\xff\xff\xff" + rng.randbytes(20))
        await stack.smsc.wait_bound()
    seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME")
    assert (await stack.smsc.wait_resp(seq))["status"] == 0
    assert await stack.count("SELECT count(*) FROM mo_message WHERE text = 'RET ACME'") == 1
    assert await stack.count("SELECT count(*) FROM sms_in WHERE kind = 'malformed'") > 0


async def test_replies_are_sent_on_a_transceiver_and_throttling_is_retried(dsn: str) -> None:
    async with running_stack(dsn, mode="transceiver", send_rate=50) as stack:
        await stack.smsc.set(submit_error_status=pdu.ESME_RTHROTTLED, submit_error_count=2)
        seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME")
        await stack.smsc.wait_resp(seq)
        await stack.smsc.wait_event("submit_sm", lambda e: e.get("status") == 0, timeout=15)
        assert stack.smsc.count("submit_sm", lambda e: e.get("status") == 0x58) == 2
        await wait_until(lambda: stack.count(
            "SELECT count(*) FROM sms_out WHERE state = 'sent'"), what="reply sent")


async def test_replies_go_out_on_a_separate_transmitter_link(dsn: str) -> None:
    transmitter = {"name": "peer-tx", "mode": "transmitter", "replies_for": "peer"}
    async with NodeSmsc(password=PEER_PASSWORD, allow_second_bind=True) as smsc, \
            running_stack(dsn, smsc=smsc, extra_links=(transmitter,), wait_bound=False) as stack:
        binds = [await stack.smsc.wait_bound(), await stack.smsc.wait_bound()]
        conn_of = {bind["command"]: bind["conn"] for bind in binds}
        assert set(conn_of) == {"bind_receiver", "bind_transmitter"}
        seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=b"RET ACME")
        assert (await stack.smsc.wait_resp(seq))["status"] == 0
        submit = await stack.smsc.wait_event("submit_sm", timeout=15)
        assert submit["status"] == 0 and submit["conn"] == conn_of["bind_transmitter"]
        assert submit["fields"]["destination_addr"] == "905321234567"
        await wait_until(lambda: stack.count(
            "SELECT count(*) FROM sms_out WHERE state = 'sent' AND link = 'peer'"),
            what="reply sent for the receiver link")


async def test_an_onay_then_a_ret_within_the_hour_both_get_their_confirmation(dsn: str) -> None:
    """The RET's confirmation is not swallowed by the ONAY's (issue #24): two submit_sm, the
    second with the opt-out text."""
    async with running_stack(dsn, mode="transceiver", send_rate=50) as stack:
        for text in (b"IZIN ACME", b"RET ACME"):
            seq = await stack.smsc.deliver(**MO, data_coding=0, short_message=text)
            assert (await stack.smsc.wait_resp(seq))["status"] == 0
        async def both_sent() -> bool:
            return await stack.count("SELECT count(*) FROM sms_out WHERE state = 'sent'") == 2

        await wait_until(both_sent, what="both replies sent")
        texts = [r["text"] for r in await stack.pool.fetch(
            "SELECT text FROM sms_out ORDER BY id")]
        assert "izniniz alındı" in texts[0] and "çıkışınız alındı" in texts[1]
        assert stack.smsc.count("submit_sm", lambda e: e.get("status") == 0) == 2


async def test_a_flood_on_a_transceiver_is_throttled_and_every_message_stored_once(
    dsn: str,
) -> None:
    """In-process, against tests/peer/smsc.js's flood mode (numbered texts): while commits
    are held back the bound is reached, enquire_link is still answered; in the end every
    message is acknowledged 0 and stored once, and its confirmation reply went out."""
    from prometheus_client import REGISTRY

    def throttled() -> float:
        return REGISTRY.get_sample_value("iys_inbound_smpp_throttled_total",
                                         {"link": "flooded"}) or 0.0

    n = 300
    async with running_stack(dsn, name="flooded", mode="transceiver", window=5,
                             max_uncommitted=10) as stack:
        before = throttled()
        blocker = await db.connect(dsn)
        try:
            async with blocker.transaction():
                await blocker.execute("LOCK TABLE sms_in IN ACCESS EXCLUSIVE MODE")
                flood = asyncio.create_task(stack.smsc.flood(n, burst=50, retry_ms=10,
                                                             **MO, short_message="RET ACME"))

                async def throttling() -> bool:
                    return throttled() > before

                await wait_until(throttling, what="a throttled PDU")
                seq = await stack.smsc.enquire()
                await stack.smsc.wait_event("enquire_link_resp", lambda e: e["seq"] == seq)
        finally:
            await blocker.close()
        done = await flood
        assert (done["reason"], done["acked"], done["errors"]) == ("complete", n, 0)
        assert done["throttled"] == throttled() - before > 0
        assert sorted(await stored_texts(stack)) == sorted(f"RET ACME {i}"
                                                           for i in range(1, n + 1))
        assert await stack.count("SELECT count(*) FROM sms_in") == n
        await stack.smsc.wait_event("submit_sm", lambda e: e["status"] == 0)
        assert stack.smsc.count("close") == 0  # the link stayed bound
