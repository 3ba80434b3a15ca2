"""The mixed row of ``make bench`` (issue #26 item 6a): what a real short number receives.

Per 20 messages: 12 GSM-7 (60 %), 5 UCS-2 Turkish (25 %), 2 three-part concatenated GSM-7
messages (10 %: 6 PDUs) and 1 message that gets a confirmation reply (5 %), on a transceiver
link. Texts rotate among spellings the keyword grammar accepts (brand names, aliases, case,
Turkish letters), so every message goes through the whole decision path; senders are new
for every message (``bench/peer.js`` cycles through :data:`CYCLE` with its ``mix`` command).

Replies: the shared number 4609 has its replies switched off in :func:`rules_file` (empty
templates), ACME's own 0850 number keeps the default ones: the one message in 20 sent there
stores a reply in the MO batch (the reply's sending is paced by the link's ``send_rate``).
The rate is reported in PDUs (deliver_sm acknowledged) per second: 24 PDUs per 20 messages.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness import BenchSmsc, service_config, service_process
from inbound import service

SHARED = "4609"
OWN = "908505320000"      # ACME's own number in the demo rules: replies on
PART = 153                # GSM-7 characters per part beside an 8-bit concatenation UDH

GSM7 = ["RET ACME", "IZIN KUZEY", "ret acme", "Izin Acme Market", "RET KUZEY KAHVE",
        "iptal acme", "RET ACMEMARKET", "izin kuzey", "Ret Kuzey", "IZIN ACME",
        "ret kuzey kahve", "RET Acme"]
UCS2 = ["İZİN ACME", "RET KUZEY KAHVE", "İzin Kuzey", "ret acme market", "İPTAL ACME"]


def _gsm7(text: str) -> str:
    """Unpacked GSM-7 as the SMSC sends data_coding 0 (ASCII letters are their own codes)."""
    return text.encode("ascii").hex()


# a long IZIN is not a consent (the grammar is strict for yes): both long ones are RETs
FILLER = "Lutfen beni listeden cikarin, tesekkurler. "


def _concat(text: str) -> list[dict[str, Any]]:
    body = (text + " " + FILLER * 12)[:3 * PART]
    return [{"destination_addr": SHARED, "data_coding": 0, "concat": [3, i + 1],
             "text_hex": _gsm7(body[i * PART:(i + 1) * PART])} for i in range(3)]


def cycle() -> list[dict[str, Any]]:
    """24 PDUs = 20 messages, interleaved so every window holds the whole mix."""
    out: list[dict[str, Any]] = []
    gsm = [{"destination_addr": SHARED, "data_coding": 0, "text_hex": _gsm7(t)} for t in GSM7]
    ucs = [{"destination_addr": SHARED, "data_coding": 8,
            "text_hex": t.encode("utf-16-be").hex()} for t in UCS2]
    for i in range(12):
        out.append(gsm[i])
        if i % 3 == 2 and ucs:
            out.append(ucs.pop())
        if i in (3, 9):
            out.extend(_concat("RET ACME" if i == 3 else "RET KUZEY"))
        if i == 6:
            out.append({"destination_addr": OWN, "data_coding": 0, "text_hex": _gsm7("RET")})
    out.extend(ucs)
    return _only(out, os.environ.get("BENCH_MIX", ""))


def _only(out: list[dict[str, Any]], part: str) -> list[dict[str, Any]]:
    """``BENCH_MIX`` = gsm7 | ucs2 | concat | reply: only that component of the cycle, to see
    which one costs (a diagnosis switch; the row's figures are the whole mix)."""
    keep = {
        "": lambda e: True,
        "gsm7": lambda e: e["data_coding"] == 0 and "concat" not in e
        and e["destination_addr"] == SHARED,
        "ucs2": lambda e: e["data_coding"] == 8,
        "concat": lambda e: "concat" in e,
        "reply": lambda e: e["destination_addr"] == OWN,
    }[part]
    return [e for e in out if keep(e)]


def rules_file(path: Path) -> Path:
    """The demo rules with the shared number's replies off (empty templates)."""
    text = service.DEMO_RULES.read_text(encoding="utf-8")
    off = 'replies = { RET = "", ONAY = "", ambiguous = "", unknown_brand = "" }\n'
    marker = f'msisdn = "{SHARED}"'
    head, sep, tail = text.partition(marker)
    assert sep, "the demo rules no longer have the shared number"
    line_end = tail.index("\n") + 1
    path.write_text(head + sep + tail[:line_end] + off + tail[line_end:], encoding="utf-8")
    return path


async def run_row(smsc: BenchSmsc, dsn: str, tmpdir: Path, log_level: str,
                  measure: Callable[[], Awaitable[None]], iys_url: str = "") -> None:
    """The service on ``dsn`` (a database of its own), a transceiver link, the mix on.
    ``iys_url``: the İYS sandbox the plain row's service pushes to (a process of its own);
    empty: the sandbox inside the service (tests)."""
    config = service_config(tmpdir / "iys-inbound-mixed.toml", smsc.port, log_level=log_level,
                            mode="transceiver", rules=rules_file(tmpdir / "mixed-rules.toml"),
                            iys_url=iys_url)
    await smsc.mix(cycle())
    try:
        async with service_process(config, dsn, tmpdir / "service-mixed.log"):
            await measure()
    finally:
        await smsc.mix(None)


async def stored(dsn: str) -> dict[str, Any]:
    """What the mixed row stored: every PDU, the messages (those assembled from parts apart),
    parts still waiting (a cycle cut off at the end of a run), replies and events."""
    conn = await asyncpg.connect(dsn)
    try:
        return dict(await conn.fetchrow(
            """SELECT (SELECT count(*) FROM sms_in) AS sms_in,
                      (SELECT count(*) FROM mo_message) AS mo_message,
                      (SELECT count(DISTINCT message_id) FROM sms_part
                        WHERE message_id IS NOT NULL) AS assembled,
                      (SELECT count(*) FROM sms_part WHERE message_id IS NULL) AS waiting_parts,
                      (SELECT count(*) FROM mo_message WHERE outcome <> 'consent')
                          AS not_consent,
                      (SELECT count(*) FROM consent_event) AS consent_event,
                      (SELECT count(*) FROM sms_out) AS sms_out"""))
    finally:
        await conn.close()


def stored_line(counts: dict[str, Any]) -> str:
    return (f"- iys-inbound mixed: {counts['sms_in']:,} `sms_in` rows, {counts['mo_message']:,} "
            f"`mo_message` rows ({counts['assembled']:,} assembled from three parts, "
            f"{counts['not_consent']:,} not a consent), {counts['waiting_parts']:,} parts "
            f"still waiting, {counts['consent_event']:,} consent events, "
            f"{counts['sms_out']:,} replies")
