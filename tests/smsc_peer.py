"""Drive the independent SMSC (``tests/peer/smsc.js``, npm ``smpp``) from asyncio tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gsmcodecs  # noqa: F401  (registers the gsm23.038-* codecs)

PEER_DIR = Path(__file__).resolve().parent / "peer"
Predicate = Callable[[dict[str, Any]], bool]


class NodeSmsc:
    def __init__(self, system_id: str = "iys", password: str = "secret", *,
                 redeliver_on_rebind: bool = False, allow_second_bind: bool = False) -> None:
        self.args = ["--system-id", system_id, "--password", password,
                     "--redeliver-on-rebind", str(redeliver_on_rebind).lower(),
                     "--allow-second-bind", str(allow_second_bind).lower()]
        self.port = 0
        self.events: list[dict[str, Any]] = []
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._ids = itertools.count(1)
        self._seen = 0  # events consumed by wait_bound, so each call waits for a new bind

    async def __aenter__(self) -> NodeSmsc:
        node = shutil.which("node")
        if node is None or not (PEER_DIR / "node_modules" / "smpp").exists():
            raise RuntimeError("the npm SMSC peer is not installed: run "
                               "'npm ci --prefix tests/peer' (make test does it)")
        self._proc = await asyncio.create_subprocess_exec(
            node, str(PEER_DIR / "smsc.js"), *self.args, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=1 << 22)
        self._reader = asyncio.create_task(self._read())
        listening = await self.wait_event("listening")
        self.port = listening["port"]
        return self

    async def __aexit__(self, *_: Any) -> None:
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for line in self._proc.stdout:
            event = json.loads(line)
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def _send(self, command: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(command) + "\n").encode())
        await self._proc.stdin.drain()

    async def wait_event(self, kind: str, predicate: Predicate | None = None,
                         timeout: float = 10, start: int = 0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for event in self.events[start:]:
                if event.get("event") == kind and (predicate is None or predicate(event)):
                    return event
            return None

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout)
        result = found()
        assert result is not None
        return result

    async def wait_bound(self, timeout: float = 10) -> dict[str, Any]:
        """The next successful bind after the previous call's."""
        event = await self.wait_event("bind", lambda e: e["status"] == 0, timeout, self._seen)
        self._seen = self.events.index(event) + 1
        return event

    async def deliver(self, **fields: Any) -> int:
        """Send a deliver_sm; return its sequence number. Bytes fields go as hex."""
        command_id = next(self._ids)
        for key in ("short_message", "message_payload"):
            value = fields.get(key)
            if isinstance(value, str):
                value = value.encode("ascii")
            if isinstance(value, bytes | bytearray):
                fields[key] = bytes(value).hex()
        for key, value in list(fields.items()):
            if key.startswith("vendor_") and isinstance(value, bytes):
                fields[key] = value.hex()
        await self._send({"cmd": "deliver", "id": command_id, "fields": fields})
        sent = await self.wait_event("sent", lambda e: e["id"] == command_id)
        if "seq" not in sent or sent["seq"] is None:
            raise AssertionError(f"deliver not sent: {sent}")
        return int(sent["seq"])

    async def wait_resp(self, seq: int, timeout: float = 10) -> dict[str, Any]:
        return await self.wait_event("deliver_sm_resp", lambda e: e["seq"] == seq, timeout)

    async def expect_no_resp(self, seq: int, within: float) -> None:
        """Prove absence: no deliver_sm_resp for ``seq`` during ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            event = await self.wait_resp(seq, timeout=within)
            raise AssertionError(f"deliver_sm_resp arrived early: {event}")

    async def send_raw(self, data: bytes) -> None:
        command_id = next(self._ids)
        await self._send({"cmd": "raw", "id": command_id, "hex": data.hex()})
        await self.wait_event("raw_sent", lambda e: e.get("id") == command_id)

    async def drop(self) -> None:
        command_id = next(self._ids)
        await self._send({"cmd": "drop", "id": command_id})
        await self.wait_event("dropped", lambda e: e.get("id") == command_id)

    async def unbind(self) -> None:
        command_id = next(self._ids)
        await self._send({"cmd": "unbind", "id": command_id})
        await self.wait_event("unbind_sent", lambda e: e.get("id") == command_id)

    async def enquire(self) -> None:
        await self._send({"cmd": "enquire"})

    async def set(self, **knobs: Any) -> None:
        command_id = next(self._ids)
        await self._send({"cmd": "set", "id": command_id, **knobs})
        await self.wait_event("set", lambda e: e.get("id") == command_id)

    async def load(self, n: int, window: int, timeout: float = 600, **fields: Any
                   ) -> dict[str, Any]:
        command_id = next(self._ids)
        if isinstance(fields.get("short_message"), bytes):
            fields["short_message"] = fields["short_message"].hex()
        await self._send({"cmd": "load", "id": command_id, "n": n, "window": window,
                          "fields": fields})
        return await self.wait_event("load_done", lambda e: e.get("id") == command_id,
                                     timeout)

    def count(self, kind: str, predicate: Predicate | None = None) -> int:
        return sum(1 for e in self.events
                   if e.get("event") == kind and (predicate is None or predicate(e)))


# -- bytes helpers ---------------------------------------------------------------------------
def udh(*elements: bytes) -> bytes:
    body = b"".join(elements)
    return bytes([len(body)]) + body


def ie_concat8(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x00, 3, ref, total, seq])


def ie_concat16(ref: int, total: int, seq: int) -> bytes:
    return bytes([0x08, 4, ref >> 8, ref & 0xFF, total, seq])


def ie_turkish_single_shift() -> bytes:
    return bytes([0x24, 1, 1])


def ie_turkish_locking_shift() -> bytes:
    return bytes([0x25, 1, 1])


def gsm7_unpacked(text: str, single_shift: int = 0, locking_shift: int = 0) -> bytes:
    return text.encode(f"gsm23.038-{locking_shift}-{single_shift}")


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")
