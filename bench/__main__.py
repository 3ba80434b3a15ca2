"""``python -m bench`` (``make bench``): MO throughput and ack latency, all rows against one SMSC.

Every row is driven by the same SMSC peer process (``bench/peer.js`` = ``tests/peer/smsc.js``,
npm ``smpp`` 0.5.1, in load mode: N deliver_sm with at most W unanswered, latency measured
from writing each deliver_sm to reading its deliver_sm_resp), on the same machine, in one run:

* ``npm-smpp ack-only``  – bench/ackonly.js, answers at once, stores nothing;
* ``smpplib ack-only``   – smpplib's blocking Client, answers at once, stores nothing;
* ``naive``              – smpplib's blocking Client, one INSERT + commit per message, then ack;
* ``iys-inbound``        – ``iys-inbound run`` (subprocess, demo rules, the İYS sandbox in a
  process of its own, DATABASE_URL on an embedded PostgreSQL in a temporary directory),
  window 50.
* ``iys-inbound mixed``  – the same service at window 50 on the mix a real short number
  receives (GSM-7, UCS-2, concatenated, with replies): ``bench/mixed.py``.
* ``smpplib ack-only, again`` – the smpplib reference at window 50 once more, right after
  iys-inbound (the 0.5× target is judged against the mean of its two medians).

Window 50 runs ``BENCH_W50_RUNS`` times in every row (default 3); the targets use the median.

Environment: ``BENCH_N`` messages per (row, window) (default 20000), ``BENCH_WINDOWS`` (default
``1,10,50``), ``BENCH_PACED_RATE`` / ``BENCH_PACED_SECONDS`` (default 1000 MO/s for 10 s, the
ack-latency target; ``BENCH_PACED_SECONDS=0``: no paced load), ``BENCH_MIX`` (the mixed row
with one component of its mix only: ``gsm7``, ``ucs2``, ``concat`` or ``reply``; a diagnosis
switch), ``BENCH_WEBHOOK_TRIGGERS=off`` (the iys-inbound row without the webhook outbox's
triggers on consent_event, to measure what they cost), ``BENCH_WARM_WAL_MB`` (the WAL written
and checkpointed before each storing row, so that its loads find recycled segments as a
running cluster does; default: what the row will write, at 4 KB a MO, at most 1 GB; ``0``:
none), ``BENCH_ROWS`` (comma-separated subset
of ``npm,smpplib,naive,iys,mixed``; default all), ``BENCH_IYS_LOG_LEVEL`` (the service's log
level, default ``info`` as in production), ``BENCH_OUT`` (directory for results.json and
BENCHMARKS.md, default: the repository). Writes ``bench/results.json`` and ``BENCHMARKS.md``.

Sections: ``smpp`` (the rows above: ``bench/smpp_rows.py``), ``iys`` (MO → İYS through the
sandbox at 10 requests/s: ``bench/iys.py``, its own ``BENCH_IYS_*`` settings) and ``flood`` (an
SMSC that sends without waiting; bounded memory: ``bench/flood.py``, ``BENCH_FLOOD_*``) and
``big`` (the service on an empty database and on one holding ``BENCH_BIG_ROWS`` messages,
default 10,000,000, built once and kept under ``var/bench-big/``: ``bench/big.py``) and
``check`` (the pre-send check: 1,000,000 numbers through the CLI against 10,000,000 mirror
keys, kept under ``var/bench-check/``: ``bench/presend.py``), ``links`` (100,000 consent links
minted: ``bench/links.py``) and ``imports`` (a 1,000,000-row consent file checked and stored,
then pushed: ``bench/imports.py``, ``BENCH_IMPORT_*``). ``--only SECTION`` runs one and keeps
the others' figures from results.json, so BENCHMARKS.md always shows all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench import big as big_bench
from bench import flood as flood_bench
from bench import imports as imports_bench
from bench import iys as iys_bench
from bench import links as links_bench
from bench import presend as check_bench
from bench import report, smpp_history
from bench.harness import PEER_PASSWORD, ROOT, BenchSmsc, create_database
from bench.smpp_rows import smpp_section
from inbound import db

SECTIONS = ("smpp", "iys", "flood", "big", "check", "links", "imports")


@dataclass
class Settings:
    n: int
    windows: list[int]
    paced_rate: int
    paced_seconds: int
    out: Path
    rows: set[str]
    log_level: str
    repeats: int = 3  # window-50 runs per row: the targets use their median
    warm_wal_mb: int | None = None  # None: what the row will write (bench/smpp_rows.py)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            n=int(env.get("BENCH_N", "20000")),
            windows=[int(w) for w in env.get("BENCH_WINDOWS", "1,10,50").split(",")],
            paced_rate=int(env.get("BENCH_PACED_RATE", "1000")),
            paced_seconds=int(env.get("BENCH_PACED_SECONDS", "10")),
            out=Path(env.get("BENCH_OUT", str(ROOT))),
            rows=set(env.get("BENCH_ROWS", "npm,smpplib,naive,iys,mixed").split(",")),
            log_level=env.get("BENCH_IYS_LOG_LEVEL", "info"),
            repeats=max(1, int(env.get("BENCH_W50_RUNS", "3"))),
            warm_wal_mb=(max(0, int(env["BENCH_WARM_WAL_MB"]))
                         if "BENCH_WARM_WAL_MB" in env else None),
        )


def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False,
                              cwd=ROOT, timeout=20).stdout.strip()
    except OSError:
        return "unknown"


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import importlib.metadata as md
    return {
        "cores": os.cpu_count(), "cpu": model, "os": platform.platform(),
        "python": platform.python_version(), "node": _run("node", "--version"),
        "npm_smpp": json.loads((ROOT / "tests/peer/node_modules/smpp/package.json")
                               .read_text())["version"],
        "smpplib": md.version("smpplib"), "asyncpg": md.version("asyncpg"),
        "iys_inbound": md.version("iys-inbound"),
        "git_commit": _run("git", "rev-parse", "--short", "HEAD"),
        # figures measured on code that is not the commit named must say so
        "git_uncommitted": _run("git", "status", "--porcelain",
                                "--untracked-files=no") not in ("", "unknown"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=SECTIONS, action="append",
                        help="run only this section (repeatable); the other sections' figures "
                        "already in results.json are kept")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sections = set(args.only or SECTIONS)
    s = Settings.from_env()
    command = "make bench  (= .venv/bin/python -m bench)"
    if args.only:
        command = ".venv/bin/python -m bench " + " ".join(f"--only {x}" for x in args.only)
    overrides = {k: v for k, v in os.environ.items() if k.startswith("BENCH_")}
    if overrides:
        command += "  with " + " ".join(f"{k}={shlex.quote(v)}" for k, v in overrides.items())
    info = machine()
    print(f"machine: {info['cores']} cores, {info['cpu']}; python {info['python']}, "
          f"node {info['node']}, npm smpp {info['npm_smpp']}, smpplib {info['smpplib']}",
          flush=True)
    results_path = s.out / "bench" / "results.json" if s.out == ROOT else s.out / "results.json"
    results: dict[str, Any] = {}
    if results_path.exists():  # sections not run now keep their last figures
        with contextlib.suppress(ValueError):
            results = json.loads(results_path.read_text())
    with tempfile.TemporaryDirectory(prefix="iys-bench-") as tmp:
        tmpdir = Path(tmp)
        pg = await asyncio.to_thread(db.start_embedded, tmpdir / "pgdata")
        try:
            _, info["postgresql"] = await create_database(pg.uri, "bench_probe")
            info["postgresql_settings"] = await pg_settings(pg.uri)
            if "smpp" in sections:  # the previous runs stay in the report (every run)
                earlier = smpp_history.earlier_runs(results)
                results.update(await smpp_section(s, tmpdir, pg.uri, info, command))
                results["smpp_earlier"] = earlier
            if "iys" in sections:
                results["iys"] = await iys_section(s, tmpdir, pg.uri, info, command)
            if "flood" in sections:
                results["flood"] = await flood_section(s, tmpdir, pg.uri, info, command)
            if "links" in sections:   # consent links minted in bulk (issue #30)
                dsn, _ = await create_database(pg.uri, "bench_links")
                results["links"] = await links_bench.run(dsn)
            if "imports" in sections:  # bulk upload (issue #31): bench/imports.py
                dsn, _ = await create_database(pg.uri, "bench_imports")
                results["imports"] = await imports_bench.run(dsn)
                results["imports"].update({"machine": dict(info), "command": command})
            if "big" in sections:  # a cluster of its own, kept under var/bench-big
                print(f"10M: the service on an empty database and on "
                      f"{big_bench.bigdata.rows_wanted():,} stored messages", flush=True)
                big = await big_bench.run(
                    s.n, s.repeats, (s.paced_rate, s.paced_seconds), s.log_level, tmpdir)
                big.update({"machine": dict(info), "command": command,
                            "earlier": big_bench.earlier_runs(results.get("big"))})
                results["big"] = big
            if "check" in sections:  # a cluster of its own, kept under var/bench-check
                print("check: the pre-send check from the CLI", flush=True)
                results["check"] = {**await check_bench.run(), "machine": dict(info),
                                    "command": command}
        finally:  # before its directory goes (see EmbeddedPostgres.stop)
            await asyncio.to_thread(pg.stop)
    s.out.mkdir(parents=True, exist_ok=True)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = report.write_markdown(results, s.out / "BENCHMARKS.md")
    print(md)
    print(f"wrote {results_path} and {s.out / 'BENCHMARKS.md'}")
    return 0


async def iys_section(s: Settings, tmpdir: Path, pg_uri: str, info: dict[str, Any],
                      command: str) -> dict[str, Any]:
    settings = iys_bench.IysSettings.from_env()
    print(f"MO -> İYS: steady {settings.steady_rate}/s x {settings.steady_seconds} s, fast "
          f"{settings.fast_rate}/s x {settings.fast_seconds} s, burst {settings.burst} RET, "
          f"batch-result delay {settings.batch_delay} s", flush=True)
    dsn, _ = await create_database(pg_uri, "bench_iys_push")
    async with BenchSmsc(password=PEER_PASSWORD) as smsc:
        section = await iys_bench.run(smsc, tmpdir, dsn, s.log_level, settings)
    section.update({
        "machine": {**info, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        "command": command, "iys_log_level": s.log_level,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    })
    return section


async def flood_section(s: Settings, tmpdir: Path, pg_uri: str, info: dict[str, Any],
                        command: str) -> dict[str, Any]:
    settings = flood_bench.FloodSettings.from_env()
    print(f"flood: {settings.runs} runs of {settings.n:,} MO, burst {settings.burst}, "
          f"retry {settings.retry_ms:g} ms", flush=True)
    started = time.monotonic()
    dsn, _ = await create_database(pg_uri, "bench_flood")
    runs = await flood_bench.run(tmpdir, dsn, s.log_level, settings)
    return {"machine": dict(info), "command": command, "runs": runs,
            "seconds": round(time.monotonic() - started, 1),
            "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


async def pg_settings(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {name: await conn.fetchval(f"SHOW {name}")
                for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")}
    finally:
        await conn.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
