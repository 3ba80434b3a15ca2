"""The import lane as a pipeline (Pusher.run): lists in flight at once, every row once in İYS,
and import requests at low priority in the shared rate limit."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg

from inbound.imports.store import Uploader, create, store_file
from iys_push.pusher import Pusher
from iys_push.ratelimit import LOW_PRIORITY, SharedRateLimit
from iys_push.sandbox.testing import SandboxServer
from tests.imports.files import csv_bytes, recent, write
from tests.iys_push.conftest import settings
from tests.waiting import wait_until

WHO = Uploader("cli", "cli")


def phone(i: int) -> str:
    return f"0555 {i // 10000 % 1000:03d} {i // 100 % 100:02d} {i % 100:02d}"


async def test_the_pipeline_has_several_lists_in_flight_and_pushes_every_row_once(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    rows = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(20)) for i in range(3500)]
    path = write(tmp_path, "p.csv", csv_bytes(rows))
    import_id = await create(db, "acme", WHO, path.name, "csv")
    await store_file(db, import_id, "acme", WHO, path)
    # results are polled 30 s after a submit: the lists are all sent before any is polled
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000, batch_poll_delay=30.0,
                                     poll_interval=0.2), worker_id="w1")
    task = asyncio.create_task(pusher.run())
    try:
        await wait_until(lambda: db.fetchval("SELECT count(*) = 4 FROM iys_batch"),
                         timeout=30, what="four lists submitted")
        assert await db.fetchval("SELECT count(*) FROM iys_batch WHERE done_at IS NOT NULL") == 0
        await db.execute("UPDATE iys_batch SET next_poll_at = now()")  # results due now
        await wait_until(lambda: db.fetchval(
            "SELECT finished_at IS NOT NULL FROM consent_import WHERE id = $1", import_id),
            timeout=30, what="the import finished")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert await db.fetchval("SELECT count(*) FROM consent_event WHERE state = 'accepted'") \
        == 3500
    assert len(sandbox.state.movements) == 3500            # each row once
    assert len({m.recipient for m in sandbox.state.movements}) == 3500


async def test_a_low_priority_request_waits_for_every_other_waiting_request(
        db: asyncpg.Pool) -> None:
    limit = SharedRateLimit(db, "priority-test", 1.0)
    await limit.acquire()                   # the bucket is empty now
    order: list[str] = []

    async def low() -> None:
        LOW_PRIORITY.set(True)
        await limit.acquire()
        order.append("import")

    async def high() -> None:
        await limit.acquire()
        order.append("live")

    first = asyncio.create_task(low())      # the import asks first …
    await asyncio.sleep(0)
    second = asyncio.create_task(high())    # … the live request still goes before it
    await asyncio.gather(first, second)
    assert order == ["live", "import"]
