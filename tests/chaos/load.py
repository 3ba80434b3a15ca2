"""A load for the chaos tests that behaves like an SMSC: every message is re-sent until it
is acknowledged with ESME_ROK.

``deliver`` commands go to the SMSC peer (``tests/peer/smsc.js``) without waiting for each
reply (the driver's per-command wait scans every event, too slow for thousands); their
outcome is read back from the peer's events, incrementally:

* ``sent {id, seq}`` (``redelivered: true`` when the peer re-sent it after a rebind),
* ``deliver_sm_resp {seq, status}`` — the last status of a message is what counts,
* ``error {id}`` — nothing was bound when the command arrived: send it again later.

A message answered with a non-zero status (ESME_RX_T_APPN: not stored) is sent again, as an
SMSC does. Sending keeps at most ``in_flight`` messages unanswered, so the load is spread
over time and a fault lands in the middle of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tests.smsc_peer import NodeSmsc, encode_fields

FULL = os.environ.get("IYS_CHAOS_FULL") == "1"
_ids = itertools.count(10**9)  # far from the driver's own command ids


def scaled(small: int, full: int) -> int:
    return full if FULL else small


def sender(i: int) -> str:
    return f"90533{i:07d}"


@dataclass
class ChaosLoad:
    smsc: NodeSmsc
    n: int
    in_flight: int = 100
    text: str = "RET ACME"
    pos: int = 0
    id_to_i: dict[int, int] = field(default_factory=dict)
    seq_to_i: dict[int, int] = field(default_factory=dict)
    status: dict[int, int] = field(default_factory=dict)      # i -> last status
    waiting: set[int] = field(default_factory=set)             # sent, no answer yet
    to_send: list[int] = field(default_factory=list)
    sends: int = 0
    redelivered_by_peer: int = 0
    temporary_errors: int = 0
    refused_commands: int = 0
    closes: int = 0
    bound: bool = True       # the caller starts the load once the service is bound
    limit: int | None = None  # only messages 0 … limit-1 are sent until ``allow`` raises it

    def __post_init__(self) -> None:
        self.to_send = list(range(self.n))

    # -- reading the peer's events --------------------------------------------------------
    def update(self) -> None:
        events = self.smsc.events
        while self.pos < len(events):
            e = events[self.pos]
            self.pos += 1
            kind = e.get("event")
            if kind == "sent" and e.get("id") in self.id_to_i:
                self.seq_to_i[e["seq"]] = self.id_to_i[e["id"]]
                if e.get("redelivered"):
                    self.redelivered_by_peer += 1
            elif kind == "deliver_sm_resp" and e["seq"] in self.seq_to_i:
                i = self.seq_to_i.pop(e["seq"])
                self.status[i] = e["status"]
                self.waiting.discard(i)
                if e["status"] != 0:
                    self.temporary_errors += 1
                    self.to_send.append(i)
            elif kind == "error" and e.get("id") in self.id_to_i:
                self.refused_commands += 1
                self.bound = False   # nothing to deliver to: wait for the next bind
                i = self.id_to_i[e["id"]]
                self.waiting.discard(i)
                self.to_send.append(i)
            elif kind == "close":
                self.closes += 1
            elif kind == "bind" and e.get("status") == 0:
                self.bound = True

    async def allow(self, limit: int | None) -> None:
        """Let messages up to ``limit`` (None: all) be sent, waking a waiting ``run``."""
        self.limit = limit
        async with self.smsc._changed:
            self.smsc._changed.notify_all()

    def _may_send(self) -> bool:
        return bool(self.to_send) and (self.limit is None or self.to_send[0] < self.limit)

    def acknowledged(self) -> int:
        return sum(1 for s in self.status.values() if s == 0)

    def done(self) -> bool:
        return (not self.to_send and not self.waiting
                and len(self.status) == self.n and self.acknowledged() == self.n)

    async def until(self, predicate: Any, timeout: float, what: str) -> None:
        changed = self.smsc._changed  # the driver's event condition

        def ready() -> bool:
            self.update()
            return bool(predicate())

        try:
            async with changed:
                await asyncio.wait_for(changed.wait_for(ready), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                 f"{self.summary()}") from None

    # -- sending ----------------------------------------------------------------------------
    async def _send(self, i: int) -> None:
        command_id = next(_ids)
        self.id_to_i[command_id] = i
        self.waiting.add(i)
        self.sends += 1
        fields = encode_fields({"source_addr": sender(i), "source_addr_ton": 1,
                                "source_addr_npi": 1, "destination_addr": "4609",
                                "short_message": self.text})
        proc = self.smsc._proc
        assert proc is not None and proc.stdin is not None
        proc.stdin.write((json.dumps({"cmd": "deliver", "id": command_id, "fields": fields})
                          + "\n").encode())
        await proc.stdin.drain()

    @contextlib.asynccontextmanager
    async def running(self, timeout: float) -> AsyncIterator[asyncio.Task[None]]:
        """:meth:`run` as a task for the block's life; awaiting it inside the block waits for
        the whole load. On the way out it is cancelled and awaited, whatever happened."""
        runner = asyncio.create_task(self.run(timeout))
        try:
            yield runner
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, AssertionError):
                await runner

    async def run(self, timeout: float) -> None:
        """Send everything, re-send what failed, until every message is acknowledged."""
        deadline = time.monotonic() + timeout
        while True:
            self.update()
            if self.done():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"load not acknowledged within {timeout}s: "
                                     f"{self.summary()}")
            if self._may_send() and self.bound and len(self.waiting) < self.in_flight:
                batch = min(len(self.to_send), self.in_flight - len(self.waiting), 25)
                for _ in range(batch):
                    if not self._may_send():
                        break
                    await self._send(self.to_send.pop(0))
                continue
            # wait for an answer or an error before sending more (or for the end), or for
            # ``allow`` to raise the limit
            seen, limit = self.pos, self.limit
            try:
                await self.until(lambda s=seen, lim=limit: len(self.smsc.events) > s
                                 or self.limit != lim,
                                 max(0.1, deadline - time.monotonic()), "peer events")
            except AssertionError:
                continue

    def summary(self) -> dict[str, int]:
        return {"messages": self.n, "acknowledged": self.acknowledged(),
                "unanswered": len(self.waiting), "to_send": len(self.to_send),
                "deliver_commands": self.sends, "redelivered_by_peer": self.redelivered_by_peer,
                "temporary_errors": self.temporary_errors,
                "refused_no_bind": self.refused_commands, "peer_closes": self.closes}
