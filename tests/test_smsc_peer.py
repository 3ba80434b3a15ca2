"""The independent SMSC harness (npm ``smpp`` in a child process) checked with a tiny raw ESME.

The ESME here is written with ``smpp_bind.pdu`` only, so these tests pin down what the
harness puts on the wire and what it reports, before any interop test relies on it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from smpp_bind import pdu
from tests import smsc_peer
from tests.smsc_peer import (
    NodeSmsc,
    gsm7_unpacked,
    ie_concat8,
    ie_turkish_single_shift,
    ucs2,
    udh,
    udh_concat8,
    udh_concat16,
    udh_turkish_locking_shift,
    udh_turkish_single_shift,
)

READ_TIMEOUT = 5.0


class RawEsme:
    """Just enough of an ESME to exercise the SMSC: frame, send, read one PDU at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.sequence = 0

    @classmethod
    async def connect(cls, port: int) -> RawEsme:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_pdu(self) -> bytes:
        head = await asyncio.wait_for(self.reader.readexactly(4), READ_TIMEOUT)
        length = int.from_bytes(head, "big")
        return head + await asyncio.wait_for(self.reader.readexactly(length - 4), READ_TIMEOUT)

    async def expect(self, command_id: int) -> tuple[pdu.Header, bytes]:
        data = await self.read_pdu()
        header = pdu.parse_header(data)
        assert header.command_id == command_id, pdu.command_name(header.command_id)
        return header, data

    async def bind(self, mode: str = "receiver", system_id: str = "iys",
                   password: str = "secret") -> pdu.Header:
        await self.send(pdu.bind(mode, self.next_sequence(), system_id, password,
                                 system_type="IYS", address_range="4609"))
        header, _ = await self.expect(pdu.BIND_RECEIVER_RESP if mode == "receiver" else
                                      pdu.BIND_TRANSCEIVER_RESP if mode == "transceiver" else
                                      pdu.BIND_TRANSMITTER_RESP)
        return header

    async def expect_closed(self) -> None:
        assert await asyncio.wait_for(self.reader.read(), READ_TIMEOUT) == b""

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass  # already reset by the SMSC's drop


@pytest.fixture
async def smsc() -> AsyncIterator[NodeSmsc]:
    async with NodeSmsc(system_id="iys", password="secret") as peer:
        yield peer


@pytest.fixture
async def esme(smsc: NodeSmsc) -> AsyncIterator[RawEsme]:
    client = await RawEsme.connect(smsc.port)
    assert (await client.bind("receiver")).status == pdu.ESME_ROK
    await smsc.wait_bound()
    yield client
    await client.close()


# -- installation ----------------------------------------------------------------------------
def test_missing_npm_package_fails_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(smsc_peer, "PEER_DIR", tmp_path)
    with pytest.raises(smsc_peer.SmscPeerUnavailable, match=r"npm ci --prefix tests/peer"):
        smsc_peer.ensure_installed()


# -- binds -----------------------------------------------------------------------------------
async def test_bind_receiver_is_accepted_and_reported_without_the_password(
    smsc: NodeSmsc,
) -> None:
    client = await RawEsme.connect(smsc.port)
    try:
        assert (await client.bind("receiver")).status == pdu.ESME_ROK
        event = await smsc.wait_bound()
        assert event["command"] == "bind_receiver"
        assert (event["system_id"], event["system_type"]) == ("iys", "IYS")
        assert (event["interface_version"], event["address_range"]) == (0x34, "4609")
        assert event["password"] == "ok"
        assert "secret" not in json.dumps(smsc.events)
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("iys", "wrong", pdu.ESME_RINVPASWD), ("other", "secret", pdu.ESME_RINVSYSID)],
)
async def test_bad_credentials_are_refused_with_their_own_status(
    smsc: NodeSmsc, system_id: str, password: str, status: int
) -> None:
    client = await RawEsme.connect(smsc.port)
    try:
        assert (await client.bind("transceiver", system_id, password)).status == status
        event = await smsc.wait_event("bind")
        assert event["status"] == status
        assert "wrong" not in json.dumps(smsc.events)
    finally:
        await client.close()


async def test_second_bind_is_refused_unless_allowed(smsc: NodeSmsc, esme: RawEsme) -> None:
    second = await RawEsme.connect(smsc.port)
    try:
        assert (await second.bind("receiver")).status == pdu.ESME_RALYBND
        await smsc.set(allow_second_bind=True)
        assert (await second.bind("receiver")).status == pdu.ESME_ROK
    finally:
        await second.close()


async def test_reject_next_binds_answers_bind_fail_then_accepts(smsc: NodeSmsc) -> None:
    await smsc.set(reject_next_binds=1)
    client = await RawEsme.connect(smsc.port)
    try:
        assert (await client.bind("receiver")).status == pdu.ESME_RBINDFAIL
        assert (await client.bind("receiver")).status == pdu.ESME_ROK
    finally:
        await client.close()


# -- deliver_sm ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("short_message", "data_coding", "esm_class"),
    [
        (udh_turkish_single_shift() + gsm7_unpacked("İPTAL ŞİRKET ğüşıöç", single_shift=1),
         0x00, 0x40),
        (udh_turkish_locking_shift() + gsm7_unpacked("RET ACME ŞĞİ", locking_shift=1), 0x00, 0x40),
        (udh(ie_concat8(0x2A, 2, 1), ie_turkish_single_shift())
         + gsm7_unpacked("RET ACMEğ", single_shift=1), 0x00, 0x40),
        (gsm7_unpacked("RET @ACME_$"), 0x00, 0x00),  # code points that differ from ASCII
        (ucs2("İZİN ACME"), 0x08, 0x00),
        (udh_concat16(0x1234, 3, 3) + ucs2("ş"), 0x08, 0x40),
    ],
    ids=["gsm-single-shift", "gsm-locking-shift", "concat8+shift", "gsm-default", "ucs2",
         "concat16-ucs2"],
)
async def test_deliver_arrives_with_exactly_the_bytes_and_data_coding_sent(
    smsc: NodeSmsc, esme: RawEsme, short_message: bytes, data_coding: int, esm_class: int
) -> None:
    seq = await smsc.deliver(source_addr="905321234567", source_addr_ton=1, source_addr_npi=1,
                             destination_addr="4609", esm_class=esm_class,
                             data_coding=data_coding, short_message=short_message)
    _, data = await esme.expect(pdu.DELIVER_SM)
    received = pdu.parse_deliver_sm(data)
    assert received.sequence == seq
    assert received.short_message == short_message
    assert (received.data_coding, received.esm_class) == (data_coding, esm_class)
    assert (received.source_addr, received.source_addr_ton, received.source_addr_npi) == (
        "905321234567", 1, 1)
    assert received.destination_addr == "4609"
    assert received.tlvs == {}


async def test_tlvs_named_and_raw_vendor_ones_arrive(smsc: NodeSmsc, esme: RawEsme) -> None:
    payload = gsm7_unpacked("RET ACME " * 40)  # 360 octets: beyond short_message's limit
    seq = await smsc.deliver(source_addr="905321234567", destination_addr="4609",
                             data_coding=0, message_payload=payload,
                             sar_msg_ref_num=0x0102, sar_total_segments=2, sar_segment_seqnum=1,
                             receipted_message_id="abc123", message_state=2,
                             tlvs={0x1400: b"\x01\x02", 0x3FFF: b""})
    _, data = await esme.expect(pdu.DELIVER_SM)
    received = pdu.parse_deliver_sm(data)
    assert received.sequence == seq
    assert received.short_message == b""
    assert received.tlvs == {
        pdu.TLV_MESSAGE_PAYLOAD: payload,
        pdu.TLV_SAR_MSG_REF_NUM: b"\x01\x02",
        pdu.TLV_SAR_TOTAL_SEGMENTS: b"\x02",
        pdu.TLV_SAR_SEGMENT_SEQNUM: b"\x01",
        pdu.TLV_RECEIPTED_MESSAGE_ID: b"abc123\x00",
        pdu.TLV_MESSAGE_STATE: b"\x02",
        0x1400: b"\x01\x02",
        0x3FFF: b"",
    }


async def test_deliver_sm_resp_status_is_reported_per_sequence(
    smsc: NodeSmsc, esme: RawEsme
) -> None:
    first = await smsc.deliver(destination_addr="4609", data_coding=0, short_message="RET ACME")
    second = await smsc.deliver(destination_addr="4609", data_coding=0, short_message="IZIN X")
    await esme.expect(pdu.DELIVER_SM)
    await esme.expect(pdu.DELIVER_SM)
    await esme.send(pdu.deliver_sm_resp(second, pdu.ESME_RX_T_APPN))
    assert (await smsc.wait_resp(second))["status"] == pdu.ESME_RX_T_APPN
    await smsc.expect_no_resp(first, within=0.2)
    await esme.send(pdu.deliver_sm_resp(first))
    resp = await smsc.wait_resp(first)
    assert resp["status"] == pdu.ESME_ROK and resp["latency_ms"] >= 0


async def test_text_that_differs_between_gsm_and_ascii_is_refused_as_str(
    smsc: NodeSmsc,
) -> None:
    with pytest.raises(ValueError, match="gsm7_unpacked"):
        await smsc.deliver(destination_addr="4609", short_message="a@b.com")


async def test_deliver_without_a_receiver_is_a_command_error(smsc: NodeSmsc) -> None:
    with pytest.raises(smsc_peer.SmscCommandError, match="no session bound"):
        await smsc.deliver(destination_addr="4609", data_coding=0, short_message="RET ACME")


# -- session control -------------------------------------------------------------------------
async def test_drop_closes_the_connection(smsc: NodeSmsc, esme: RawEsme) -> None:
    await smsc.drop()
    await esme.expect_closed()
    assert (await smsc.wait_event("close"))["bound_as"] == "bind_receiver"


async def test_smsc_unbind_arrives_and_the_smsc_closes_after_the_resp(
    smsc: NodeSmsc, esme: RawEsme
) -> None:
    seq = await smsc.unbind()
    header, _ = await esme.expect(pdu.UNBIND)
    assert header.sequence == seq
    await esme.send(pdu.unbind_resp(seq))
    assert (await smsc.wait_event("unbind_resp"))["seq"] == seq
    await esme.expect_closed()


async def test_esme_unbind_is_answered_and_reported(smsc: NodeSmsc, esme: RawEsme) -> None:
    await esme.send(pdu.unbind(77))
    header, _ = await esme.expect(pdu.UNBIND_RESP)
    assert (header.sequence, header.status) == (77, pdu.ESME_ROK)
    assert (await smsc.wait_event("unbind"))["seq"] == 77


async def test_enquire_link_both_ways(smsc: NodeSmsc, esme: RawEsme) -> None:
    await esme.send(pdu.enquire_link(41))
    header, _ = await esme.expect(pdu.ENQUIRE_LINK_RESP)
    assert header.sequence == 41
    assert (await smsc.wait_event("enquire_link"))["seq"] == 41
    seq = await smsc.enquire()
    header, _ = await esme.expect(pdu.ENQUIRE_LINK)
    assert header.sequence == seq
    await esme.send(pdu.enquire_link_resp(seq))
    await smsc.wait_event("enquire_link_resp", lambda e: e["seq"] == seq)


async def test_submit_sm_is_answered_with_a_message_id_or_the_configured_error(
    smsc: NodeSmsc,
) -> None:
    client = await RawEsme.connect(smsc.port)
    try:
        assert (await client.bind("transceiver")).status == pdu.ESME_ROK
        await smsc.set(submit_error_status=pdu.ESME_RTHROTTLED, submit_error_count=1)
        statuses = []
        for seq in (10, 11):
            await client.send(pdu.build("submit_sm", seq, source_addr="4609",
                                        destination_addr="905321234567",
                                        short_message=b"Tesekkurler", data_coding=0))
            header, _ = await client.expect(pdu.SUBMIT_SM_RESP)
            statuses.append(header.status)
        assert statuses == [pdu.ESME_RTHROTTLED, pdu.ESME_ROK]
        event = await smsc.wait_event("submit_sm", lambda e: e["status"] == 0)
        assert event["fields"]["short_message"] == b"Tesekkurler".hex()
        assert event["fields"]["destination_addr"] == "905321234567"
        assert event["message_id"]
    finally:
        await client.close()


# -- redelivery ------------------------------------------------------------------------------
async def test_redeliver_on_rebind_resends_only_what_was_not_acknowledged() -> None:
    async with NodeSmsc(redeliver_on_rebind=True) as smsc:
        first = await RawEsme.connect(smsc.port)
        await first.bind("receiver")
        acked = await smsc.deliver(destination_addr="4609", data_coding=0, short_message="RET A")
        lost = await smsc.deliver(destination_addr="4609", data_coding=0, short_message="RET B")
        await first.expect(pdu.DELIVER_SM)
        await first.expect(pdu.DELIVER_SM)
        await first.send(pdu.deliver_sm_resp(acked))
        await smsc.wait_resp(acked)
        await first.close()  # the ESME goes away without answering `lost`
        assert (await smsc.wait_event("close"))["unacked"] == 1

        second = await RawEsme.connect(smsc.port)
        try:
            await second.bind("transceiver")
            _, data = await second.expect(pdu.DELIVER_SM)
            again = pdu.parse_deliver_sm(data)
            assert again.short_message == b"RET B"
            assert again.sequence != lost  # a new sequence number on the new session
            resent = await smsc.wait_event("sent", lambda e: e.get("redelivered", False))
            assert resent["seq"] == again.sequence
            await second.send(pdu.deliver_sm_resp(again.sequence))
            await smsc.wait_resp(again.sequence)
            assert (await smsc.stats())["pending_redelivery"] == 0
        finally:
            await second.close()


# -- raw bytes -------------------------------------------------------------------------------
async def test_raw_bytes_reach_the_esme_and_its_generic_nack_is_reported(
    smsc: NodeSmsc, esme: RawEsme
) -> None:
    garbage = bytes.fromhex("00000010" "0000BEEF" "00000000" "00000063")  # unknown command
    await smsc.send_raw(garbage)
    assert await esme.read_pdu() == garbage
    await esme.send(pdu.generic_nack(0x63, pdu.ESME_RINVCMDID))
    nack = await smsc.wait_event("generic_nack")
    assert (nack["seq"], nack["status"]) == (0x63, pdu.ESME_RINVCMDID)


async def test_garbage_from_the_esme_is_reported_and_a_fresh_session_follows(
    smsc: NodeSmsc, esme: RawEsme
) -> None:
    await esme.send(bytes.fromhex("7FFFFFFF" "00000005" "00000000" "00000001"))
    error = await smsc.wait_event("error")
    assert "too large" in error["message"] and error["conn"] == 1
    # one fuzz case per connection: the SMSC drops, the ESME binds anew
    drop = asyncio.create_task(smsc.drop())
    await esme.expect_closed()
    await drop
    replacement = await RawEsme.connect(smsc.port)
    try:
        assert (await replacement.bind("receiver")).status == pdu.ESME_ROK
        assert (await smsc.wait_bound())["conn"] == 2
    finally:
        await replacement.close()


# -- load mode -------------------------------------------------------------------------------
async def test_load_mode_reports_latency_percentiles(smsc: NodeSmsc, esme: RawEsme) -> None:
    async def ack_everything() -> None:
        while True:
            header, _ = await esme.expect(pdu.DELIVER_SM)
            await esme.send(pdu.deliver_sm_resp(header.sequence))

    acker = asyncio.create_task(ack_everything())
    try:
        done = await smsc.load(300, window=10, timeout=30, destination_addr="4609",
                               data_coding=0, short_message="RET ACME")
    finally:
        acker.cancel()
    assert (done["answered"], done["errors"], done["reason"]) == (300, 0, "complete")
    assert 0 < done["p50_ms"] <= done["p99_ms"] <= done["max_ms"]


# -- helpers ---------------------------------------------------------------------------------
def test_udh_helpers_build_the_3gpp_headers() -> None:
    assert udh_concat8(0x2A, 3, 1) == bytes.fromhex("0500032A0301")
    assert udh_concat16(0x1234, 3, 2) == bytes.fromhex("06080412340302")
    assert udh_turkish_single_shift() == bytes.fromhex("03240101")
    assert udh_turkish_locking_shift() == bytes.fromhex("03250101")
    assert gsm7_unpacked("ğ", single_shift=1) == b"\x1bg"
    assert ucs2("İ") == b"\x01\x30"
