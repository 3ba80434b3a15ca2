"""Drive the independent SMSC (``tests/peer/smsc.js``, npm ``smpp`` 0.5.1) from asyncio tests.

The SMSC runs as a child process; commands go to it as JSON lines on stdin and every event
it reports comes back as a JSON line on stdout, kept in :attr:`NodeSmsc.events`. Waiting is
always for an event (never a sleep), except :meth:`NodeSmsc.expect_no_resp`, which proves an
absence and so must wait out its interval.

Sequence numbers of SMSC-originated PDUs are unique for the life of the process (not per
session), so ``wait_resp(seq)`` is unambiguous across drops and rebinds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Self

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)

from tests.processes import stop_process

PEER_DIR = Path(__file__).resolve().parent / "peer"
SCRIPT = PEER_DIR / "smsc.js"
NODE_SMPP_VERSION = "0.5.1"
INSTALL_HINT = "run `npm ci --prefix tests/peer` (make test does it)"

Event = dict[str, Any]
Predicate = Callable[[Event], bool]

# Characters whose GSM 03.38 default-alphabet code equals their ASCII code, so a str can be
# sent as its ASCII bytes under data_coding 0 without any ambiguity ('@', '$', '_' differ).
GSM_SAFE_ASCII = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    " !\"#%&'()*+,-./:;<=>?\n\r"
)
HEX_FIELDS = ("short_message", "message_payload")


class SmscPeerUnavailable(RuntimeError):
    """node or the pinned npm package is missing: the interop tests cannot run."""


class SmscCommandError(RuntimeError):
    """The SMSC refused a command (for instance a deliver with no receiver bound)."""


def ensure_installed() -> str:
    """The path of ``node``; raise :class:`SmscPeerUnavailable` telling how to install."""
    node = shutil.which("node")
    if node is None:
        raise SmscPeerUnavailable(f"node is not on PATH: install Node.js >= 18, {INSTALL_HINT}")
    manifest = PEER_DIR / "node_modules" / "smpp" / "package.json"
    if not manifest.exists():
        raise SmscPeerUnavailable(f"the npm SMSC peer is not installed: {INSTALL_HINT}")
    version = json.loads(manifest.read_text())["version"]
    if version != NODE_SMPP_VERSION:
        raise SmscPeerUnavailable(
            f"tests/peer has smpp {version}, the lock file pins {NODE_SMPP_VERSION}: {INSTALL_HINT}"
        )
    return node


class NodeSmsc:
    """An SMSC on 127.0.0.1 that an ESME under test binds to (``async with NodeSmsc() as s``)."""

    def __init__(
        self,
        system_id: str = "iys",
        password: str = "secret",
        *,
        redeliver_on_rebind: bool = False,
        allow_second_bind: bool = False,
        port: int = 0,
    ) -> None:
        self.config = {
            "system_id": system_id,
            "password": password,
            "redeliver_on_rebind": redeliver_on_rebind,
            "allow_second_bind": allow_second_bind,
        }
        self.port = port
        self.events: list[Event] = []
        self._requested_port = port
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._binds_seen = 0  # index after the bind wait_bound returned last
        self._stderr: list[str] = []
        self._exited = False

    script: Path = SCRIPT  # the peer program (the benchmarks run a variant of it)

    # -- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        node = ensure_installed()
        # the password goes through the environment so that it never shows in `ps`
        env = {**os.environ, "SMSC_PEER_CONFIG": json.dumps(self.config)}
        self._proc = await asyncio.create_subprocess_exec(
            node, str(self.script), str(self._requested_port),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=1 << 22,
        )
        self._tasks = [asyncio.create_task(self._read_events()),
                       asyncio.create_task(self._read_stderr())]
        try:
            self.port = (await self.wait_event("listening"))["port"]
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        proc = self._proc
        if proc is not None:
            assert proc.stdin is not None
            # smsc.js shuts down when its stdin ends
            await stop_process(proc, proc.stdin.close, 5)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read_events(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            async for line in self._proc.stdout:
                event = json.loads(line)
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self._exited = True
                self._changed.notify_all()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        async for line in self._proc.stderr:
            self._stderr.append(line.decode(errors="replace"))

    # -- waiting ---------------------------------------------------------------------------
    def mark(self) -> int:
        """An index for ``wait_event(start=...)``: only events after this moment count."""
        return len(self.events)

    def find(self, kind: str, predicate: Predicate | None = None, start: int = 0) -> Event | None:
        for event in self.events[start:]:
            if event.get("event") == kind and (predicate is None or predicate(event)):
                return event
        return None

    def count(self, kind: str, predicate: Predicate | None = None) -> int:
        return sum(1 for e in self.events
                   if e.get("event") == kind and (predicate is None or predicate(e)))

    async def wait_event(self, kind: str, predicate: Predicate | None = None,
                         timeout: float = 10, start: int = 0) -> Event:
        """The first event of ``kind`` (at index >= ``start``) matching ``predicate``.

        Events already seen count: a resp that arrived before the call is found at once.
        """
        def ready() -> bool:
            return self._exited or self.find(kind, predicate, start) is not None

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no {kind!r} event within {timeout}s; last events: {self.events[-6:]}"
            ) from None
        found = self.find(kind, predicate, start)
        if found is None:
            raise RuntimeError(f"the SMSC peer exited; stderr: {''.join(self._stderr)[-2000:]}")
        return found

    async def wait_bound(self, timeout: float = 10) -> Event:
        """The next successful bind after the one the previous call returned."""
        event = await self.wait_event("bind", lambda e: e["status"] == 0, timeout,
                                      self._binds_seen)
        self._binds_seen = self.events.index(event) + 1
        return event

    async def wait_resp(self, seq: int, timeout: float = 10) -> Event:
        """The ``deliver_sm_resp`` event ({"seq", "status", ...}) for that sequence number."""
        return await self.wait_event("deliver_sm_resp", lambda e: e["seq"] == seq, timeout)

    async def expect_no_resp(self, seq: int, within: float) -> None:
        """Prove absence: no ``deliver_sm_resp`` for ``seq`` during ``within`` seconds."""
        try:
            event = await self.wait_resp(seq, timeout=within)
        except TimeoutError:
            return
        raise AssertionError(f"deliver_sm_resp for seq {seq} arrived: {event}")

    # -- commands --------------------------------------------------------------------------
    async def _command(self, cmd: str, reply: str, timeout: float = 10,
                       **args: Any) -> Event:
        assert self._proc is not None and self._proc.stdin is not None, "not started"
        command_id = next(self._ids)
        self._proc.stdin.write((json.dumps({"cmd": cmd, "id": command_id, **args}) + "\n")
                               .encode())
        await self._proc.stdin.drain()
        return await self._wait_reply(command_id, reply, timeout)

    async def _wait_reply(self, command_id: int, reply: str, timeout: float) -> Event:
        def ours(event: Event) -> bool:
            return event.get("id") == command_id

        def ready() -> bool:
            return self._exited or any(
                ours(e) and e.get("event") in (reply, "error") for e in self.events)

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            raise TimeoutError(f"no {reply!r} reply within {timeout}s") from None
        for event in self.events:
            if ours(event) and event.get("event") == "error":
                raise SmscCommandError(event.get("message", event))
            if ours(event) and event.get("event") == reply:
                return event
        raise RuntimeError(f"the SMSC peer exited; stderr: {''.join(self._stderr)[-2000:]}")

    async def deliver(self, **fields: Any) -> int:
        """Send one ``deliver_sm`` to the bound receiver; return its sequence number.

        ``short_message``/``message_payload``: bytes as they go on the wire (UDH included,
        with ``esm_class=0x40`` set by the caller), or a str of GSM-safe ASCII. ``data_coding``
        defaults to 0 and is always sent explicitly. Raw TLVs: ``tlvs={tag: bytes}`` (any tag,
        vendor 0x1400-0x3FFF included); ``vendor_1400=b"..."`` is the same as
        ``tlvs={0x1400: b"..."}``. Standard TLVs by name: ``sar_msg_ref_num``,
        ``sar_total_segments``, ``sar_segment_seqnum``, ``receipted_message_id``,
        ``message_state``… ``conn=`` picks a connection when several are bound.
        """
        conn = fields.pop("conn", None)
        sent = await self._command("deliver", "sent", fields=encode_fields(fields),
                                   **({} if conn is None else {"conn": conn}))
        return int(sent["seq"])

    async def send_raw(self, data: bytes) -> None:
        """Write bytes straight to the socket (fuzzing). node-smpp may stop reading that
        session afterwards: use :meth:`fresh_session` before the next case."""
        await self._command("raw", "sent", hex=bytes(data).hex())

    async def drop(self) -> None:
        """Destroy every connection abruptly (no unbind); waits until each is closed."""
        dropped = await self._command("drop", "dropped")
        for conn in dropped["conns"]:
            await self.wait_event("close", lambda e, c=conn: e.get("conn") == c)

    async def fresh_session(self, timeout: float = 10) -> Event:
        """Drop the connection and wait for the ESME to bind again (one fuzz case each)."""
        await self.drop()
        return await self.wait_bound(timeout)

    async def unbind(self) -> int:
        """Send an SMSC-initiated unbind; returns its sequence number."""
        return int((await self._command("unbind", "sent"))["seq"])

    async def enquire(self) -> int:
        """Send an enquire_link; returns its sequence number (see ``enquire_link_resp``)."""
        return int((await self._command("enquire", "sent"))["seq"])

    async def set(self, **knobs: Any) -> None:
        """``password``, ``reject_next_binds`` (answered ESME_RBINDFAIL),
        ``submit_error_status``/``submit_error_count``, ``redeliver_on_rebind``,
        ``allow_second_bind``."""
        await self._command("set", "ok", **knobs)

    async def stats(self) -> Event:
        return await self._command("stats", "stats")

    async def load(self, n: int, window: int, timeout: float = 600, **fields: Any) -> Event:
        """Send ``n`` deliver_sm keeping at most ``window`` unanswered; return ``load_done``
        ({n, answered, errors, seconds, rate, p50_ms, p99_ms, max_ms}). Per-message events
        are not reported in this mode."""
        return await self._command("load", "load_done", timeout, n=n, window=window,
                                   fields=encode_fields(fields))


    async def flood(self, n: int, *, burst: int = 100, retry_ms: float = 20,
                    numbered: bool = True, timeout: float = 600, **fields: Any) -> Event:
        """Write ``n`` deliver_sm ``burst`` at a time without waiting for any response; send
        each one answered with an error again after ``retry_ms`` (same bytes, new sequence
        number) until all are acked 0. Returns ``flood_done`` ({n, acked, throttled, errors,
        sent, seconds, rate, max_outstanding, reason}). ``numbered`` appends " <i>" to the
        short_message of the i-th (1..n), so every message is distinct."""
        return await self._command("flood", "flood_done", timeout, n=n, burst=burst,
                                   retry_ms=retry_ms, numbered=numbered,
                                   fields=encode_fields(fields))


def encode_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """deliver_sm fields as smsc.js takes them: bytes as hex, raw TLVs as a list."""
    out: dict[str, Any] = {"data_coding": 0}
    tlvs: list[dict[str, Any]] = []
    for key, value in fields.items():
        if key in HEX_FIELDS:
            out[key] = _message_bytes(key, value).hex()
        elif key == "tlvs":
            items: Iterable[tuple[int, bytes]] = (
                value.items() if isinstance(value, dict) else value)
            tlvs.extend({"tag": tag, "hex": bytes(raw).hex()} for tag, raw in items)
        elif key.startswith("vendor_"):
            tlvs.append({"tag": int(key.removeprefix("vendor_"), 16), "hex": bytes(value).hex()})
        else:
            out[key] = value
    if tlvs:
        out["tlvs"] = tlvs
    return out


def _message_bytes(name: str, value: bytes | bytearray | str) -> bytes:
    if isinstance(value, str):
        unsafe = sorted(set(value) - GSM_SAFE_ASCII)
        if unsafe:
            raise ValueError(f"{name}: {unsafe} differ between GSM 03.38 and ASCII; "
                             "pass bytes (gsm7_unpacked / ucs2)")
        return value.encode("ascii")
    return bytes(value)


# -- bytes helpers ---------------------------------------------------------------------------
def udh(*elements: bytes) -> bytes:
    """A user data header (UDHL + elements) from information elements (``ie_*``)."""
    body = b"".join(elements)
    return bytes([len(body)]) + body


def ie_concat8(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x00, 3, ref & 0xFF, total, seq])


def ie_concat16(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x08, 4, ref >> 8 & 0xFF, ref & 0xFF, total, seq])


def ie_turkish_single_shift() -> bytes:
    return bytes([0x24, 1, 1])  # national language single shift, language 1 (Turkish)


def ie_turkish_locking_shift() -> bytes:
    return bytes([0x25, 1, 1])  # national language locking shift, language 1 (Turkish)


def udh_concat8(ref: int, total: int, seq: int) -> bytes:
    """``05 00 03 ref total seq``: concatenated SM, 8-bit reference."""
    return udh(ie_concat8(ref, total, seq))


def udh_concat16(ref: int, total: int, seq: int) -> bytes:
    """``06 08 04 refH refL total seq``: concatenated SM, 16-bit reference."""
    return udh(ie_concat16(ref, total, seq))


def udh_turkish_single_shift() -> bytes:
    """``03 24 01 01``. Combine with others via ``udh(ie_concat8(...), ie_...())``."""
    return udh(ie_turkish_single_shift())


def udh_turkish_locking_shift() -> bytes:
    """``03 25 01 01``."""
    return udh(ie_turkish_locking_shift())


def gsm7_unpacked(text: str, single_shift: int = 0, locking_shift: int = 0) -> bytes:
    """GSM 03.38 septets, one per octet (as SMPP carries them under data_coding 0).

    ``single_shift=1`` uses the Turkish single-shift table (ESC + code for ğ, ş, İ, …),
    ``locking_shift=1`` the Turkish locking-shift table; pair them with the matching UDH.
    """
    return text.encode(f"gsm23.038-{locking_shift}-{single_shift}")


def ucs2(text: str) -> bytes:
    """UTF-16BE, as SMPP carries data_coding 8."""
    return text.encode("utf-16-be")
