"""What the event tally's triggers (migration 0029) cost the MO path: MO batches of 50
``RET ACME`` through the pipeline and the asyncpg writer, one at a time, in alternated
rounds with the triggers enabled and disabled, on an embedded PostgreSQL of its own.

Run: ``flock /tmp/iys-bench.lock python -m bench.tally_cost [ROUNDS] [BATCHES]``. Prints every
round (median and p90 ms per batch) and the load average; nothing is written to files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from inbound import db, store
from inbound.pipeline import Pipeline
from inbound.service import DEMO_RULES
from inbound.writer import AsyncpgWriter
from keywords import RuleSet
from smpp_bind import pdu
from smpp_bind.commit import Received
from tests.pdus import deliver_pdu, gsm7_unpacked

BATCH = 50
TRIGGERS = ("consent_event_tally_insert", "consent_event_tally_update",
            "consent_event_tally_delete")


def _batch(start: int) -> list[Received]:
    out = []
    for i in range(start, start + BATCH):
        raw = deliver_pdu(i % 2_000_000_000, gsm7_unpacked("RET ACME"),
                          source=f"90532{i:07d}")
        header = pdu.parse_header(raw)
        out.append(Received(header.command_id, header.sequence, raw, datetime.now(UTC),
                            pdu.parse_deliver_sm(raw), None, session=1))
    return out


async def main(rounds: int, batches: int) -> None:
    # the pipeline logs every message at debug by default: measure the statements, not that
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with tempfile.TemporaryDirectory(prefix="iys-tally-") as tmp:
        pg = await asyncio.to_thread(db.start_embedded, Path(tmp) / "pgdata")
        try:
            pool = await db.connect_pool(pg.uri, min_size=2, max_size=4)
            async with pool.acquire() as conn:
                await db.migrate(conn)
                rules = RuleSet.from_toml(DEMO_RULES.read_text(encoding="utf-8"))
                await store.replace_rules(conn, rules.to_dict())
            pipeline = Pipeline(AsyncpgWriter(pool), rules)
            sender = 0
            for _ in range(3):   # warm-up
                await pipeline.accept("l1", _batch(sender))
                sender += BATCH
            summary: dict[str, list[float]] = {"on": [], "off": []}
            for r in range(rounds):
                for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                    verb = "ENABLE" if mode == "on" else "DISABLE"
                    for name in TRIGGERS:
                        await pool.execute(f"ALTER TABLE consent_event {verb} TRIGGER {name}")
                    times = []
                    for _ in range(batches):
                        batch = _batch(sender)
                        sender += BATCH
                        started = time.perf_counter()
                        await pipeline.accept("l1", batch)
                        times.append((time.perf_counter() - started) * 1000)
                    times.sort()
                    med = statistics.median(times)
                    summary[mode].append(med)
                    print(f"round {r + 1} triggers {mode:>3}: median {med:.2f} ms, p90 "
                          f"{times[int(0.9 * len(times))]:.2f} ms per batch of {BATCH}; "
                          f"load {os.getloadavg()[0]:.2f}", flush=True)
            on, off = statistics.median(summary["on"]), statistics.median(summary["off"])
            print(f"medians of the round medians: on {on:.2f} ms, off {off:.2f} ms, "
                  f"difference {on - off:+.2f} ms per batch ({(on / off - 1) * 100:+.1f} %); "
                  f"rounds on {' '.join(f'{x:.2f}' for x in summary['on'])}, "
                  f"off {' '.join(f'{x:.2f}' for x in summary['off'])}", flush=True)
            await pool.close()
        finally:
            await asyncio.to_thread(pg.stop)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [6, 200][len(args):])))
