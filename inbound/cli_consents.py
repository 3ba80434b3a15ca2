"""``iys-inbound consents add …`` and ``consents show …`` (issue #28): record a consent the
brand collected itself, and see a recipient's state, from the command line.

The same checks as the API (``inbound.consents``): a refusal prints each item and field with
its reason and İYS's code, stores nothing and exits 1. The answer is the API's JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from iys_push.consent_rules import RECIPIENT_TYPES, STATUSES, TYPES

EXIT_REFUSED = 1


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("consents", help="record a consent from another channel; show a "
                       "recipient's consent state",
                       description="Consents the brand collected itself (web form, app, call "
                       "centre, wet signature, e-mail), checked as İYS would check them.")
    csub = c.add_subparsers(dest="consents_command", required=True, parser_class=parser_class)
    a = csub.add_parser("add", help="record one consent (pushed to İYS like an SMS one)")
    a.add_argument("--brand", required=True)
    a.add_argument("--recipient", required=True,
                   help="0532 123 45 67, +905321234567 … or an e-mail address (EPOSTA)")
    a.add_argument("--type", action="append", choices=TYPES, required=True,
                   help="repeatable: MESAJ and ARAMA (one event each)")
    a.add_argument("--status", choices=STATUSES, required=True)
    a.add_argument("--source", required=True, help="İYS's HS_* source: HS_CAGRI_MERKEZI, "
                   "HS_WEB, HS_ISLAK_IMZA, HS_EPOSTA, HS_FIZIKSEL_ORTAM, HS_KARAR …")
    a.add_argument("--recipient-type", choices=RECIPIENT_TYPES, default="BIREYSEL")
    a.add_argument("--date", required=True, dest="consent_date",
                   help="when the person gave it, RFC 3339 with offset: "
                   "2026-03-02T10:30:00+03:00")
    a.add_argument("--evidence", action="append", default=[], metavar="NAME=VALUE",
                   help="repeatable: form id, call id, notes … (kept, never sent to İYS)")
    a.add_argument("--idempotency-key", help="a retry with the same key records nothing new")
    from inbound import cli_imports
    cli_imports.add_arguments(csub.add_parser(
        "import", help="a file of consents (CSV or XLSX), checked row by row, pushed by the "
        "service through İYS's batch endpoint"))
    s = csub.add_parser("show", help="a recipient's consent state for a brand")
    s.add_argument("--brand", required=True)
    s.add_argument("--recipient", required=True)


def _evidence(pairs: list[str]) -> dict[str, str] | None:
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"iys-inbound: --evidence {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _refused(problem: Any) -> None:
    print(f"refused: {problem.detail}", file=sys.stderr)
    for error in problem.errors:
        code = f" [{error['code']}]" if error.get("code") else ""
        print(f"  {error['field']}: {error['reason']}{code}", file=sys.stderr)
    raise SystemExit(EXIT_REFUSED)


async def run(args: argparse.Namespace, pool_of: Callable[[], Awaitable[Any]]) -> None:
    from inbound import consent_state, consent_store, consents
    from inbound.api.problems import Problem
    from inbound.api.queries import SQL as API_SQL
    from iys_push import consent_rules

    pool = await pool_of()
    try:
        # the operator sees every brand (no owner to restrict it to)
        if await pool.fetchval(API_SQL.brand_visible, args.brand, None) is None:
            raise SystemExit(f"iys-inbound: brand {args.brand!r} not found")
        if args.consents_command == "import":
            from inbound import cli_imports
            await cli_imports.run(args, pool)
            return
        if args.consents_command == "show":
            raw = args.recipient
            recipient = consent_rules.normalise_recipient(raw, "EPOSTA" if "@" in raw
                                                          else "ARAMA")
            if recipient is None:
                raise SystemExit(f"iys-inbound: {raw!r} is neither a Turkish phone number "
                                 "nor an e-mail address")
            keys = consent_state.keys_for(recipient, None, None)
            state = await consent_state.current(pool, args.brand, recipient, keys)
            print(json.dumps(state, ensure_ascii=False, indent=1))
            return
        types = args.type[0] if len(args.type) == 1 else args.type
        item = {"recipient": args.recipient, "type": types, "status": args.status,
                "source": args.source, "recipient_type": args.recipient_type,
                "consent_date": args.consent_date, "evidence": _evidence(args.evidence)}
        item = {k: v for k, v in item.items() if v is not None}
        actor = consent_store.Actor("cli", "cli", "cli")
        digest = consent_store.request_digest("CLI", f"consents add {args.brand}", item)
        try:
            answer = None
            if args.idempotency_key:
                answer = await consent_store.replay(pool, actor.scope, args.idempotency_key,
                                                    digest)
            if answer is None:
                items, _ = consents.parse_request(item, datetime.now(UTC))
                conflicts = consents.first_movement_refusals(
                    items, await consent_store.known_keys(pool, args.brand, items), False)
                if conflicts:
                    raise consents.Refused(conflicts, status=409)
                answer = await consent_store.record(pool, args.brand, items, actor,
                                                    idempotency_key=args.idempotency_key,
                                                    digest=digest)
        except consent_store.IdempotencyConflict:
            raise SystemExit("iys-inbound: this idempotency key was used for another consent"
                             ) from None
        except Problem as problem:
            _refused(problem)
        print(json.dumps(answer, ensure_ascii=False, indent=1))
    finally:
        await pool.close()
