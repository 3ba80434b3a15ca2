"""kill -9 of the service in the middle of deliveries: after a restart every event reaches
the receiver, each always under one webhook-id (tests/processes.py ends the processes)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tests.api.conftest import add_message
from tests.processes import stop_process
from tests.waiting import wait_until
from tests.webhooks.conftest import Owners, Receiver, add_endpoint

ROOT = Path(__file__).resolve().parents[2]
IYS_INBOUND = Path(sys.executable).with_name("iys-inbound")
CONFIG = """\
[http]
port = 0
[simulator]
port = 0
[iys]
sandbox_port = 0
[log]
format = "json"
[webhooks]
allow_loopback = true
timeout = 2
lease_seconds = 3
first_retry = 0.5
poll_interval = 0.2
"""


@contextlib.asynccontextmanager
async def service(config: Path, dsn: str, log: Path
                  ) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            str(IYS_INBOUND), "--config", str(config), "run", stdout=out,
            stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
            env={**os.environ, "DATABASE_URL": dsn}, cwd=str(ROOT))
    try:
        yield proc
    finally:
        await stop_process(proc, proc.terminate, 20)


async def test_kill_9_mid_delivery_loses_nothing(owners: Owners, receiver: Receiver,
                                                 dsn: str, tmp_path: Path) -> None:
    pool = owners.pool
    # consent.received only: the service also pushes the events, and their consent.settled
    # would make the count of deliveries race past n
    _, secret = await add_endpoint(pool, owners.a, receiver.url, events=("consent.received",))
    receiver.secrets = [secret]
    receiver.hold = asyncio.Event()
    n = 20
    for i in range(n):
        await add_message(pool, sender=f"+9053212345{i:02d}", text="RET ACME", brand="acme",
                          state="pending")
    config = tmp_path / "service.toml"
    config.write_text(CONFIG, encoding="utf-8")
    log = tmp_path / "service.log"
    async with service(config, dsn, log) as first:
        async def in_flight() -> bool:
            return receiver.waiting >= 1
        await wait_until(in_flight, timeout=60, what="a delivery in flight")
        first.kill()                             # SIGKILL: mid-delivery, nothing cleaned up
        await first.wait()
    assert await pool.fetchval(
        "SELECT count(*) FROM webhook_delivery WHERE state = 'delivered'") == 0
    receiver.hold.set()
    async with service(config, dsn, log):
        async def all_delivered() -> bool:
            return await pool.fetchval(
                "SELECT count(*) FROM webhook_delivery WHERE state = 'delivered'") == n
        await wait_until(all_delivered, timeout=60, what="every delivery after the restart")
    assert receiver.bad_signatures == 0
    ids: dict[str, set[str]] = {}
    for body, headers in zip(receiver.received, receiver.headers, strict=True):
        ids.setdefault(body["data"]["id"], set()).add(headers["webhook-id"])
    assert len(ids) == n and all(len(v) == 1 for v in ids.values())
    assert sorted({b["data"]["sequence"] for b in receiver.received}) == list(range(1, n + 1))
