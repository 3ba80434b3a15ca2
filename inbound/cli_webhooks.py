"""``iys-inbound webhooks test --endpoint ID``: a signed sample to an endpoint, now.

The sample goes through the same signing, address checks, timeout and redirect rule as a
real delivery (``Deliverer.post``); it is not stored and gets its own webhook-id
(``msg_test_…``), so a receiver that dedupes never confuses it with a real event.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

EXIT_FAILED = 1


def add_parser(sub: Any) -> None:
    w = sub.add_parser("webhooks", help="webhook endpoints: send a signed sample")
    wsub = w.add_subparsers(dest="webhooks_command", required=True)
    t = wsub.add_parser("test", help="send a signed sample event to an endpoint now")
    t.add_argument("--endpoint", type=int, required=True, help="the endpoint's id")


def sample_row(endpoint: Any, now: datetime) -> dict[str, Any]:
    """A ``claim_due``-shaped row for a made-up ``consent.received`` of the endpoint's
    first brand (data marked ``"test": true``)."""
    brand = endpoint["sample_brand"] or "sample"
    data = {"event_id": 0, "brand": brand, "recipient": "+905320000000",
            "recipient_type": "BIREYSEL", "type": "MESAJ", "status": "RET",
            "source": "HS_MESAJ", "consent_date": now.isoformat(), "state": "pending",
            "test": True}
    return {**dict(endpoint), "endpoint_id": endpoint["id"], "event_id": 0,
            "kind": "consent.received", "brand_id": brand, "seq": None, "data": data,
            "created_at": now}


async def run(args: argparse.Namespace, cfg: Any,
              pool_of: Callable[[], Awaitable[Any]]) -> None:
    from inbound.webhooks import SQL, payloads
    from inbound.webhooks.delivery import Deliverer

    pool = await pool_of()
    try:
        endpoint = await pool.fetchrow(SQL.sample_target, args.endpoint)
        if endpoint is None:
            raise SystemExit(f"iys-inbound: webhook endpoint {args.endpoint} not found")
        deliverer = Deliverer(pool, cfg.webhooks,
                              cfg.webhooks.policy(zero_config=cfg.uses_simulator))
        now = datetime.now(UTC)
        row = sample_row(endpoint, now)
        body = payloads.from_row(row)
        try:  # its own id: never one a real event has
            outcome = await deliverer.post(row, body, f"msg_test_{secrets.token_hex(6)}")
        finally:
            await deliverer.close()
    finally:
        await pool.close()
    status = f"HTTP {outcome.status}" if outcome.status is not None else "no answer"
    print(f"endpoint {args.endpoint}: {outcome.outcome} ({status})"
          + (f": {outcome.error}" if outcome.error and outcome.outcome != "delivered" else ""))
    if outcome.outcome != "delivered":
        sys.exit(EXIT_FAILED)
