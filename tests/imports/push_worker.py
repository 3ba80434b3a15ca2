"""A pusher in a process of its own, for the crash test: ``python -m tests.imports.push_worker
DSN SANDBOX_URL`` runs until killed."""

from __future__ import annotations

import asyncio
import os
import sys

from inbound import db
from iys_push.client import IysSettings
from iys_push.pusher import Pusher


async def main(dsn: str, url: str) -> None:
    pool = await db.connect_pool(dsn, min_size=1, max_size=4)
    settings = IysSettings(base_url=url, username="sandbox", password="sandbox", timeout=2.0,
                           requests_per_second=8.0, batch_threshold=10_000,
                           batch_poll_delay=0.2, lease_seconds=2.0, poll_interval=0.2)
    await Pusher(pool, dsn, settings, worker_id=f"worker-{os.getpid()}").run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
