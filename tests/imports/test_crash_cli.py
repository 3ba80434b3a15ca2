"""An import survives a crash (kill -9 of the pushing process, then a restart: every valid row
in İYS exactly once), an interrupted storing says so, and the CLI imports a file."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path

import asyncpg

from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer
from tests.imports.files import TR_HEADERS, csv_bytes, recent, write
from tests.imports.test_store_push import e164, phone, store
from tests.iys_push.conftest import drain, settings
from tests.processes import stop_process
from tests.test_cli import run_cli


async def until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_kill_9_mid_import_then_restart_pushes_every_valid_row_exactly_once(
        sandbox: SandboxServer, db: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    n = 1500
    rows = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(20)) for i in range(n)]
    import_id, counts = await store(db, write(tmp_path, "k.csv", csv_bytes(rows)))
    assert counts["valid"] == n
    log = (tmp_path / "worker.log").open("wb")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.imports.push_worker", dsn, sandbox.url,
        stdout=log, stderr=log)
    try:
        async def first_list() -> bool:
            return bool(sandbox.state.batches)
        try:
            await until(first_list, 60, "the worker's first list")
        except AssertionError:
            print((tmp_path / "worker.log").read_text()[-3000:])
            raise
    finally:
        log.close()
        await stop_process(worker, lambda: worker.send_signal(signal.SIGKILL), 5)
    assert worker.returncode == -signal.SIGKILL
    left = await db.fetchval("SELECT count(*) FROM consent_event WHERE state = 'pending'")
    assert 0 < left < n + 1
    # the restart: leases of the killed worker expire (2 s), the rest is sent
    await asyncio.sleep(0)
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000, lease_seconds=2.0),
                    worker_id="after")
    await until(lambda: _lease_gone(db), 10, "the dead worker's leases to expire")
    await drain(pusher, db, timeout=60)
    await pusher.drain_once()
    await pusher.client.close()
    assert await db.fetchval("SELECT count(*) FROM consent_event WHERE state = 'accepted'") == n
    assert all(sandbox.state.accepted_count(700001, e164(i)) == 1 for i in range(n))
    state = await db.fetchval("SELECT state FROM consent_import WHERE id = $1", import_id)
    assert state == "finished"


async def _lease_gone(db: asyncpg.Pool) -> bool:
    return not await db.fetchval("SELECT count(*) FROM consent_event WHERE lease_until > now()")


async def test_an_import_whose_storing_died_says_it_failed(
        sandbox: SandboxServer, db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO consent_import (brand_id, via, actor, format, updated_at) "
                     "VALUES ('acme', 'api', 'admin', 'csv', now() - interval '1 hour')")
    pusher = Pusher(db, "", settings(sandbox), worker_id="w")
    await pusher.drain_once()
    await pusher.client.close()
    row = await db.fetchrow("SELECT state, error, finished_at FROM consent_import")
    assert row["state"] == "failed" and "upload the file again" in row["error"]
    assert row["finished_at"] is not None


async def test_cli_imports_a_file_and_writes_the_rows_back(
        db: asyncpg.Pool, dsn: str, tmp_path: Path) -> None:
    rows = [(phone(1), "MESAJ", "ONAY", "HS_WEB", "", recent()),
            ("nope", "MESAJ", "ONAY", "HS_WEB", "", recent())]
    path = write(tmp_path, "f.csv", csv_bytes(rows, header=TR_HEADERS, sep=";", bom=True))
    out = tmp_path / "rows.csv"
    done = await asyncio.to_thread(run_cli, "consents", "import", "--brand", "acme", str(path),
                                   "--rows", str(out), env={"DATABASE_URL": dsn})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["counts"]["valid"] == 1 and summary["counts"]["refused"] == 1
    assert summary["via"] == "cli" and summary["state"] == "pushing"
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[1].endswith("pending,,") and ",refused," in lines[2]
    bad = write(tmp_path, "bad.csv", b"ad;soyad\nx;y\n")
    refused = await asyncio.to_thread(run_cli, "consents", "import", "--brand", "acme",
                                      str(bad), env={"DATABASE_URL": dsn})
    assert refused.returncode == 1 and "alıcı" in refused.stderr
