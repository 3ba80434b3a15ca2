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
KINDS = ("ret_deadline", "review", "failed", "drift")   # inbound.notices.KINDS


def add_parser(sub: Any) -> None:
    w = sub.add_parser("webhooks", help="webhook endpoints: send a signed sample")
    wsub = w.add_subparsers(dest="webhooks_command", required=True)
    t = wsub.add_parser("test", help="send a signed sample event to an endpoint now")
    t.add_argument("--endpoint", type=int, required=True, help="the endpoint's id")
    n = sub.add_parser("notices", help="e-mail notices: subscribe an owner's user")
    nsub = n.add_subparsers(dest="notices_command", required=True)
    s = nsub.add_parser("subscribe", help="subscribe an address (again: replaces its choice)")
    s.add_argument("--owner", type=int, required=True)
    s.add_argument("--email", required=True)
    s.add_argument("--no-digest", action="store_true", help="no daily digest")
    s.add_argument("--immediate", action="append", choices=KINDS, default=None,
                   help="immediate notice kinds (repeatable; default all; 'none' via "
                   "--no-immediate)")
    s.add_argument("--no-immediate", action="store_true")
    u = nsub.add_parser("unsubscribe", help="remove an address")
    u.add_argument("--owner", type=int, required=True)
    u.add_argument("--email", required=True)
    nsub.add_parser("list", help="every subscription")


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


async def run_notices(args: argparse.Namespace, pool_of: Callable[[], Awaitable[Any]]) -> None:
    from inbound.api.queries import SQL as API_SQL
    from inbound.notices import SQL

    pool = await pool_of()
    try:
        if args.notices_command == "list":
            for r in await pool.fetch(SQL.subscriptions):
                print(f"{r['id']}\towner {r['owner_id']}\t{r['email']}\t"
                      f"digest={'yes' if r['digest'] else 'no'}\t"
                      f"immediate={','.join(r['immediate']) or '-'}")
            return
        if "@" not in args.email or len(args.email) > 254:
            raise SystemExit(f"iys-inbound: {args.email!r} is not an e-mail address")
        if args.notices_command == "unsubscribe":
            gone = await pool.fetchval(SQL.unsubscribe, args.owner, args.email)
            print("unsubscribed" if gone else "no such subscription")
            return
        if await pool.fetchrow(API_SQL.owner, args.owner) is None:
            raise SystemExit(f"iys-inbound: owner {args.owner} not found")
        kinds = [] if args.no_immediate else list(args.immediate or KINDS)
        row = await pool.fetchrow(SQL.subscribe, args.owner, args.email,
                                  not args.no_digest, kinds)
        print(f"subscription {row['id']}: {row['email']}")
    finally:
        await pool.close()


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
