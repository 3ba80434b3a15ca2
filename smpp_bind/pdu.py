"""SMPP 3.4 PDUs on the wire: framing, tolerant parsing and building.

Bodies are encoded and decoded with smpplib's codec (``smpplib.command``). Two things in
that codec are not good enough for a link that must never lose a message, so they are
wrapped here rather than patched:

* its optional-parameter parser raises on TLVs it does not know (vendor TLVs 0x1400-0x3FFF,
  and standard ones that a given command does not list, such as ``dest_addr_subunit`` on a
  ``deliver_sm``). We split the TLVs ourselves, keep every one raw, and give smpplib only
  the mandatory part;
* it raises ``KeyError``/``struct.error`` on truncated bodies. Any failure to parse becomes
  :class:`PduError`, which the session answers with ``generic_nack``.
"""

from __future__ import annotations

import functools
import json
import operator
import struct
from dataclasses import dataclass, field

from smpplib import command as smpp_command
from smpplib import consts

HEADER = struct.Struct(">IIII")
HEADER_LEN = 16
MAX_PDU_LEN = 64 * 1024  # far above any real SMPP 3.4 PDU; a larger length means garbage

# command ids (SMPP 3.4 §5.1.2.1)
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
DATA_SM = 0x00000103
DATA_SM_RESP = 0x80000103

# status codes we use by name
ESME_ROK = 0x00000000
ESME_RINVMSGLEN = 0x00000001
ESME_RINVCMDLEN = 0x00000002
ESME_RINVCMDID = 0x00000003
ESME_RINVBNDSTS = 0x00000004
ESME_RALYBND = 0x00000005
ESME_RSYSERR = 0x00000008
ESME_RBINDFAIL = 0x0000000D
ESME_RINVPASWD = 0x0000000E
ESME_RINVSYSID = 0x0000000F
ESME_RTHROTTLED = 0x00000058
ESME_RX_T_APPN = 0x00000064
ESME_RX_P_APPN = 0x00000065

# TLV tags we read by number (SMPP 3.4 §5.3.2)
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427

_STATUS_NAMES = {
    value: name
    for name, value in vars(consts).items()
    if name.startswith("SMPP_ESME_") and isinstance(value, int)
}


def status_name(status: int) -> str:
    """``ESME_RINVPASWD`` for 0x0E; a hex string for unknown values."""
    name = _STATUS_NAMES.get(status)
    return name.removeprefix("SMPP_") if name else f"0x{status:08X}"


def command_name(command_id: int) -> str:
    return _COMMAND_NAMES.get(command_id, f"0x{command_id:08X}")


_COMMAND_NAMES = {
    GENERIC_NACK: "generic_nack",
    BIND_RECEIVER: "bind_receiver",
    BIND_RECEIVER_RESP: "bind_receiver_resp",
    BIND_TRANSMITTER: "bind_transmitter",
    BIND_TRANSMITTER_RESP: "bind_transmitter_resp",
    SUBMIT_SM: "submit_sm",
    SUBMIT_SM_RESP: "submit_sm_resp",
    DELIVER_SM: "deliver_sm",
    DELIVER_SM_RESP: "deliver_sm_resp",
    UNBIND: "unbind",
    UNBIND_RESP: "unbind_resp",
    BIND_TRANSCEIVER: "bind_transceiver",
    BIND_TRANSCEIVER_RESP: "bind_transceiver_resp",
    ENQUIRE_LINK: "enquire_link",
    ENQUIRE_LINK_RESP: "enquire_link_resp",
    DATA_SM: "data_sm",
    DATA_SM_RESP: "data_sm_resp",
    0x00000102: "alert_notification",
}


class PduError(Exception):
    """A PDU that cannot be parsed. ``sequence`` is set when the header was readable."""

    def __init__(self, message: str, sequence: int = 0, command_id: int = 0) -> None:
        super().__init__(message)
        self.sequence = sequence
        self.command_id = command_id


@dataclass(frozen=True, slots=True)
class Header:
    length: int
    command_id: int
    status: int
    sequence: int

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & 0x80000000)


def parse_header(data: bytes) -> Header:
    length, command_id, status, sequence = HEADER.unpack_from(data)
    return Header(length, command_id, status, sequence)


@dataclass(slots=True)
class DeliverSm:
    """A ``deliver_sm`` (or ``data_sm``) as received: every field, raw TLVs and raw bytes."""

    sequence: int
    service_type: str
    source_addr_ton: int
    source_addr_npi: int
    source_addr: str
    dest_addr_ton: int
    dest_addr_npi: int
    destination_addr: str
    esm_class: int
    protocol_id: int
    priority_flag: int
    schedule_delivery_time: str
    validity_period: str
    registered_delivery: int
    replace_if_present_flag: int
    data_coding: int
    sm_default_msg_id: int
    short_message: bytes
    tlvs: dict[int, bytes] = field(default_factory=dict)
    raw: bytes = b""

    def fields_json(self) -> str:
        """The mandatory fields and the TLVs (hex) as a JSON object, kept as evidence.
        Remembered by value: a campaign's thousands of PDUs share one header, and building
        and encoding the object cost more than the lookup."""
        return _fields_json(_evidence_values(self), tuple(self.tlvs.items()))


# the mandatory fields kept as evidence besides the raw PDU (source_addr and short_message
# are stored in columns of their own)
_EVIDENCE_FIELDS = (
    "service_type", "source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi",
    "destination_addr", "esm_class", "protocol_id", "priority_flag", "schedule_delivery_time",
    "validity_period", "registered_delivery", "replace_if_present_flag", "data_coding",
    "sm_default_msg_id",
)
_evidence_values = operator.attrgetter(*_EVIDENCE_FIELDS)


@functools.lru_cache(maxsize=256)
def _fields_json(values: tuple[object, ...], tlvs: tuple[tuple[int, bytes], ...]) -> str:
    return json.dumps({**dict(zip(_EVIDENCE_FIELDS, values, strict=True)),
                       "tlvs": {f"0x{tag:04X}": value.hex() for tag, value in tlvs}})


def split_tlvs(data: bytes) -> dict[int, bytes]:
    """Split optional parameters into ``{tag: value}``; raise PduError on a bad length."""
    tlvs: dict[int, bytes] = {}
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise PduError("truncated TLV header")
        tag, length = struct.unpack_from(">HH", data, pos)
        pos += 4
        if pos + length > len(data):
            raise PduError(f"TLV 0x{tag:04X} length {length} runs past the PDU")
        tlvs[tag] = data[pos : pos + length]
        pos += length
    return tlvs


def _c_string(body: bytes, pos: int, max_len: int, name: str) -> tuple[str, int]:
    end = body.find(b"\x00", pos, pos + max_len + 1)
    if end < 0:
        raise PduError(f"{name}: no NUL terminator within {max_len} octets")
    return body[pos:end].decode("latin-1"), end + 1


def parse_deliver_sm(pdu: bytes) -> DeliverSm:
    """Parse a whole ``deliver_sm`` PDU (header included).

    The mandatory part is read field by field with the same rules as smpplib's
    ``DeliverSM`` (C-octet strings, ``sm_length`` + octets); what follows is TLVs, kept raw.
    smpplib's own ``parse`` is not used for this body because it refuses TLVs it does not
    know, which a real SMSC sends.
    """
    header = parse_header(pdu)
    body = pdu[HEADER_LEN : header.length]
    try:
        pos = 0
        service_type, pos = _c_string(body, pos, 6, "service_type")
        source_addr_ton, source_addr_npi = body[pos], body[pos + 1]
        source_addr, pos = _c_string(body, pos + 2, 21, "source_addr")
        dest_addr_ton, dest_addr_npi = body[pos], body[pos + 1]
        destination_addr, pos = _c_string(body, pos + 2, 21, "destination_addr")
        esm_class, protocol_id, priority_flag = body[pos], body[pos + 1], body[pos + 2]
        schedule_delivery_time, pos = _c_string(body, pos + 3, 17, "schedule_delivery_time")
        validity_period, pos = _c_string(body, pos, 17, "validity_period")
        (
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            sm_length,
        ) = body[pos : pos + 5]
        pos += 5
        if pos + sm_length > len(body):
            raise PduError("short_message runs past the PDU")
        short_message = bytes(body[pos : pos + sm_length])
        tlvs = split_tlvs(body[pos + sm_length :])
    except (IndexError, ValueError) as exc:
        raise PduError(f"truncated deliver_sm: {exc}", header.sequence, header.command_id) from exc
    except PduError as exc:
        exc.sequence, exc.command_id = header.sequence, header.command_id
        raise
    return DeliverSm(
        sequence=header.sequence,
        service_type=service_type,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule_delivery_time,
        validity_period=validity_period,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_if_present_flag,
        data_coding=data_coding,
        sm_default_msg_id=sm_default_msg_id,
        short_message=short_message,
        tlvs=tlvs,
        raw=bytes(pdu[: header.length]),
    )


def _frame(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    return HEADER.pack(HEADER_LEN + len(body), command_id, status, sequence) + body


def build(command: str, sequence: int, status: int = ESME_ROK, **fields: object) -> bytes:
    """Encode a PDU with smpplib's codec (``build("bind_receiver", 1, system_id=b"x")``)."""
    pdu = smpp_command.factory(command, sequence=sequence, **fields)
    # smpplib ignores a ``sequence`` keyword (its property shadows it), so set both here
    pdu.sequence = sequence
    pdu.status = status
    return pdu.generate()


def deliver_sm_resp(sequence: int, status: int = ESME_ROK) -> bytes:
    # message_id is unused in deliver_sm_resp and must be a single NUL (SMPP 3.4 §4.6.2)
    return _frame(DELIVER_SM_RESP, status, sequence, b"\x00")


def data_sm_resp(sequence: int, status: int = ESME_ROK) -> bytes:
    return _frame(DATA_SM_RESP, status, sequence, b"\x00")


def enquire_link(sequence: int) -> bytes:
    return _frame(ENQUIRE_LINK, ESME_ROK, sequence)


def enquire_link_resp(sequence: int) -> bytes:
    return _frame(ENQUIRE_LINK_RESP, ESME_ROK, sequence)


def unbind(sequence: int) -> bytes:
    return _frame(UNBIND, ESME_ROK, sequence)


def unbind_resp(sequence: int) -> bytes:
    return _frame(UNBIND_RESP, ESME_ROK, sequence)


def generic_nack(sequence: int, status: int) -> bytes:
    return _frame(GENERIC_NACK, status, sequence)


def bind(
    mode: str,
    sequence: int,
    system_id: str,
    password: str,
    system_type: str = "",
    address_range: str = "",
    addr_ton: int = 0,
    addr_npi: int = 0,
) -> bytes:
    """``bind_receiver`` / ``bind_transceiver`` / ``bind_transmitter`` with interface 0x34."""
    return build(
        f"bind_{mode}",
        sequence,
        system_id=system_id,
        password=password,
        system_type=system_type,
        interface_version=0x34,
        addr_ton=addr_ton,
        addr_npi=addr_npi,
        address_range=address_range,
    )
