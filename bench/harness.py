"""Pieces shared by the benchmark and the chaos tests: the benchmark SMSC (``bench/peer.js``,
i.e. ``tests/peer/smsc.js`` plus unique senders and a paced mode), ``iys-inbound run`` as a
subprocess with a TOML configuration pointing at that SMSC and at ``DATABASE_URL``, and a
fresh database of its own for each benchmark section (:func:`create_database`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from inbound import service
from tests.processes import stop_process
from tests.smsc_peer import NodeSmsc, encode_fields

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PEER_SCRIPT = BENCH_DIR / "peer.js"
ACKONLY_SCRIPT = BENCH_DIR / "ackonly.js"
PEER_PASSWORD = "benchpw"          # SMPP passwords are at most 8 characters
IYS_INBOUND = Path(sys.executable).with_name("iys-inbound")

# every deliver_sm of the load: a new Turkish mobile sender (bench/peer.js expands the #s),
# "RET ACME" to the shared short number 4609 of the demo rules -> outcome consent, one event
MO_FIELDS: dict[str, Any] = {
    "source_addr": "90532#######", "source_addr_ton": 1, "source_addr_npi": 1,
    "destination_addr": "4609", "data_coding": 0, "short_message": "RET ACME",
}


class BenchSmsc(NodeSmsc):
    """:class:`NodeSmsc` running ``bench/peer.js`` instead of ``tests/peer/smsc.js``."""

    script = PEER_SCRIPT

    async def paced(self, n: int, rate: float, timeout: float = 600,
                    **fields: Any) -> dict[str, Any]:
        """Open loop: ``n`` deliver_sm at ``rate`` per second, whatever the answers."""
        return await self._command("paced", "paced_done", timeout, n=n, rate=rate,
                                   fields=encode_fields(fields))

    async def mix(self, cycle: list[dict[str, Any]] | None) -> int:
        """Every later deliver_sm of a load takes the next entry of ``cycle`` (None: off)."""
        return int((await self._command("mix", "mix", cycle=cycle))["size"])

    async def counter(self, set_to: int | None = None) -> int:
        """The sender counter (``#`` runs in source_addr): read it, or set it first."""
        args = {} if set_to is None else {"set": set_to}
        return int((await self._command("counter", "counter", **args))["value"])


def service_config(path: Path, smsc_port: int, *, window: int = 50,
                   log_level: str = "info", rules: Path = service.DEMO_RULES,
                   iys_url: str = "", batch_poll_delay: float | None = None,
                   lease_seconds: float | None = None, http_port: int = 0,
                   requests_per_second: float | None = None,
                   iys_timeout: float | None = None, mode: str = "receiver") -> Path:
    """``iys_url`` empty: the bundled İYS sandbox inside the service process; else that URL
    (credentials ``sandbox``/``sandbox`` through IYS_USERNAME / IYS_PASSWORD).
    ``batch_poll_delay``: the service's ``[iys] batch_poll_delay`` (default: İYS's 300 s)."""
    iys = f'base_url = "{iys_url}"' if iys_url else "sandbox_port = 0"
    if batch_poll_delay is not None:
        iys += f"\nbatch_poll_delay = {batch_poll_delay}"
    if lease_seconds is not None:
        iys += f"\nlease_seconds = {lease_seconds}"
    if requests_per_second is not None:
        iys += f"\nrequests_per_second = {requests_per_second}"
    if iys_timeout is not None:
        iys += f"\ntimeout = {iys_timeout}"
    path.write_text(
        f'[http]\nport = {http_port}\n\n[iys]\n{iys}\n\n[rules]\nfile = "{rules}"\n\n'
        f'[log]\nformat = "json"\nlevel = "{log_level}"\n\n'
        f'[[link]]\nname = "peer"\nhost = "127.0.0.1"\nport = {smsc_port}\n'
        f'system_id = "iys"\npassword_env = "BENCH_SMPP_PW"\nwindow = {window}\n'
        f'mode = "{mode}"\nreconnect_min = 0.05\nreconnect_max = 0.5\nresponse_timeout = 5\n',
        encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def service_process(config: Path, dsn: str, log: Path
                          ) -> AsyncIterator[asyncio.subprocess.Process]:
    """``iys-inbound run --config CONFIG`` with ``DATABASE_URL=dsn``; logs go to ``log``.

    On exit: SIGTERM (a clean stop) unless the test already killed it.
    """
    env = {**os.environ, "DATABASE_URL": dsn, "BENCH_SMPP_PW": PEER_PASSWORD,
           "IYS_USERNAME": "sandbox", "IYS_PASSWORD": "sandbox"}
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            str(IYS_INBOUND), "--config", str(config), "run",
            stdout=out, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
            env=env, cwd=str(ROOT))
    try:
        yield proc
    finally:
        await stop_process(proc, proc.terminate, 20)  # SIGTERM: a clean stop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_listening(port: int, timeout: float = 30) -> None:
    """Poll until something accepts connections on 127.0.0.1:port (deadline, no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {timeout}s") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return


async def create_database(server_dsn: str, name: str) -> tuple[str, str]:
    """A new, empty database ``name`` on the server (dropped first if a run left one): its DSN
    and the server's version."""
    admin = await asyncpg.connect(server_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = await admin.fetchval("SHOW server_version")
    finally:
        await admin.close()
    base, sep, query = server_dsn.partition("?")
    return f"{base.rpartition('/')[0]}/{name}{sep}{query}", version


async def checkpoint(dsn: str, write_mb: int = 0) -> float:
    """Give the fresh cluster what a running one has: recycled WAL segments; the seconds taken.

    Until its first checkpoint a new cluster has no WAL segment to recycle, so every 16 MB of
    WAL creates one (16 MB of zeros written and fsynced) while every commit waits: at
    1,000 MO/s that was a 20-60 ms stall every ~4 s, in no running deployment. A checkpoint
    recycles only the segments written before it; ``write_mb`` first writes that much WAL
    (into a scratch table, dropped), for a load that will write as much (docs/DESIGN-NOTES.md,
    "The fresh cluster's WAL").
    """
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        if write_mb > 0:
            await conn.execute("CREATE TABLE bench_wal_warmup (id bigint, filler text)")
            # ~1 KB rows, below TOAST's threshold so not compressed: ~1 MB of WAL a 1,000
            await conn.execute("INSERT INTO bench_wal_warmup SELECT g, repeat(md5(g::text), 30) "
                               "FROM generate_series(1, $1::int) AS g", write_mb * 1000)
            await conn.execute("DROP TABLE bench_wal_warmup")
        await conn.execute("CHECKPOINT")
        return time.monotonic() - started
    finally:
        await conn.close()
