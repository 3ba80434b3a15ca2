"""``python -m bench.webhook_triggers``: what the webhook outbox triggers (migration 0027)
cost the MO path's batch INSERT of consent_event rows (issue #32).

One embedded PostgreSQL in a temporary directory; batches of 50 rows in one INSERT (as the
MO writer does), timed per batch, three cases interleaved over several rounds: the webhook
triggers disabled, enabled with no endpoint (the EXISTS finds none), enabled with an
endpoint of the brand's owner wanting consent.received (an outbox row per event). Prints
every round's median and the spread. Run it under ``flock /tmp/iys-bench.lock``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from inbound import db, store
from keywords import RuleSet

BATCHES = int(os.environ.get("BENCH_WH_BATCHES", "300"))
ROUNDS = int(os.environ.get("BENCH_WH_ROUNDS", "3"))
INSERT = """
INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
                           recipient_type, type, status, received_at, consent_date, deadline_at)
SELECT $1, 'acme', 700001, 700001, '+90532' || lpad((g + $2)::text, 7, '0'), 'BIREYSEL',
       'MESAJ', 'RET', now(), now(), now() + interval '3 days'
  FROM generate_series(1, 50) g
"""


async def run_case(conn: object, message_id: int, offset: int) -> float:
    started = time.perf_counter()
    await conn.execute(INSERT, message_id, offset)  # type: ignore[attr-defined]
    return (time.perf_counter() - started) * 1000


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="iys-wh-bench-") as tmp:
        pg = await asyncio.to_thread(db.start_embedded, Path(tmp) / "pgdata")
        conn = await db.connect(pg.uri)
        await db.migrate(conn)
        rules = RuleSet.from_toml(
            (Path(__file__).parents[1] / "inbound" / "demo_rules.toml").read_text())
        await store.replace_rules(conn, rules.to_dict())
        owner = await conn.fetchval("INSERT INTO owner (name) VALUES ('o') RETURNING id")
        await conn.execute("UPDATE brand SET owner_id = $1", owner)
        message_id = await conn.fetchval(
            "INSERT INTO mo_message (link, received_at, completed_at, outcome, reason) "
            "VALUES ('b', now(), now(), 'consent', 'bench') RETURNING id")
        cases = {
            "triggers off": ("ALTER TABLE consent_event DISABLE TRIGGER "
                             "consent_event_webhook_received", "DELETE FROM webhook_endpoint"),
            "no endpoint": ("ALTER TABLE consent_event ENABLE TRIGGER "
                            "consent_event_webhook_received", "DELETE FROM webhook_endpoint"),
            "endpoint": ("ALTER TABLE consent_event ENABLE TRIGGER "
                         "consent_event_webhook_received",
                         "INSERT INTO webhook_endpoint (owner_id, url, events, secret) SELECT "
                         "id, 'https://x.example', '{consent.received}', 'whsec_x' FROM owner"),
        }
        offset = 0
        results: dict[str, list[float]] = {name: [] for name in cases}
        print(f"load average before: {os.getloadavg()}")
        for round_no in range(ROUNDS):
            for name, (trigger, endpoint) in cases.items():
                await conn.execute(trigger)
                await conn.execute(endpoint)
                times = []
                for _ in range(BATCHES):
                    offset += 50
                    times.append(await run_case(conn, message_id, offset))
                median = statistics.median(times)
                results[name].append(median)
                print(f"round {round_no + 1} {name:<13} median {median:.3f} ms / 50-row "
                      f"batch  p90 {statistics.quantiles(times, n=10)[-1]:.3f} ms")
        for name, medians in results.items():
            print(f"{name:<13} medians {', '.join(f'{m:.3f}' for m in medians)} ms")
        print(f"load average after: {os.getloadavg()}")
        await conn.close()
        pg.stop()


if __name__ == "__main__":
    asyncio.run(main())
