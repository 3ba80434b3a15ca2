"""The İYS mirror from the command line (issue #29):

- ``iys-inbound iys push-register --brand B --url https://…/iys/push/B [--type MESAJ …]``:
  register İYS's push to our endpoint (İYS support enables push for the account first; at
  most two connections per type). The credentials are the endpoint's own ([mirror]
  push_username and IYS_INBOUND_PUSH_PASSWORD).
- ``iys-inbound mirror seed --brand B FILE``: the brand's known numbers checked through
  İYS's batch status (low in the request budget), with a progress bar.
- ``iys-inbound reconcile --brand B --date YYYY-MM-DD [--agree]``: one day's reconciliation
  and its report; ``--auto-agree on|off`` sets the brand's choice.

İYS is reached as the service reaches it: the configured İYS, or the bundled sandbox of a
running zero-config service.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

from iys_push.consent_rules import RECIPIENT_TYPES, TYPES

EXIT_FAILED = 1


def add_parsers(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    i = sub.add_parser("iys", help="İYS account operations (push registration)",
                       description="Operations on the İYS account itself.")
    isub = i.add_subparsers(dest="iys_command", required=True, parser_class=parser_class)
    r = isub.add_parser("push-register", help="register İYS's push to POST /iys/push/{brand}",
                        description="Ask İYS to push İYS-side movements (e-Devlet, 3338, the "
                        "app) of a brand to this service. İYS sends a test payload first; "
                        "the endpoint must be https and answer within 5 s.")
    r.add_argument("--brand", required=True)
    r.add_argument("--url", required=True, help="https://your.host/iys/push/BRAND")
    r.add_argument("--type", action="append", choices=TYPES, dest="types",
                   help="repeatable (default: MESAJ and ARAMA)")

    m = sub.add_parser("mirror", help="the İYS mirror: seed it",
                       description="The local copy of İYS's state per key.")
    msub = m.add_subparsers(dest="mirror_command", required=True, parser_class=parser_class)
    s = msub.add_parser("seed", help="check a brand's known numbers through İYS's batch status",
                        description="Load a brand's existing consents once: every number of "
                        "FILE (one a line, or the first CSV column) is checked through İYS's "
                        "batch status (1,000 a request, after the pusher's due events) and "
                        "written to the mirror.")
    s.add_argument("--brand", required=True)
    s.add_argument("file", metavar="FILE")
    s.add_argument("--type", choices=TYPES, default="MESAJ")
    s.add_argument("--recipient-type", choices=RECIPIENT_TYPES, default="BIREYSEL")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")

    c = sub.add_parser("reconcile", help="reconcile one day with İYS's daily file",
                       description="Fetch İYS's movement file of the day, apply what the "
                       "mirror missed, report drift, check the agreement hash; --agree "
                       "records the agreement in İYS if everything matches.")
    c.add_argument("--brand", required=True)
    c.add_argument("--date", type=date.fromisoformat, metavar="YYYY-MM-DD")
    c.add_argument("--agree", action="store_true",
                   help="record the agreement (the brand's legal statement) if it matches")
    c.add_argument("--auto-agree", choices=("on", "off"),
                   help="the brand's setting: agree to matching days automatically")


def iys_settings(cfg: Any) -> Any:
    from inbound.service import SANDBOX_PASSWORD, SANDBOX_USERNAME
    from iys_push.client import IysSettings

    if cfg.iys.uses_sandbox:
        return IysSettings(base_url=f"http://{cfg.iys.sandbox_host}:{cfg.iys.sandbox_port}",
                           username=SANDBOX_USERNAME, password=SANDBOX_PASSWORD,
                           timeout=cfg.iys.timeout)
    return IysSettings(base_url=cfg.iys.base_url, username=cfg.iys.username,
                       password=cfg.iys.password, timeout=cfg.iys.timeout,
                       requests_per_second=cfg.iys.requests_per_second,
                       egress_label=cfg.iys.egress_label)


def _fail(message: str) -> None:
    print(f"iys-inbound: {message}", file=sys.stderr)
    raise SystemExit(EXIT_FAILED)


async def run(args: argparse.Namespace, cfg: Any,
              pool_of: Callable[[], Awaitable[Any]]) -> None:
    from iys_push import mirror
    from iys_push.client import IysClient

    pool = await pool_of()
    client = IysClient(pool, iys_settings(cfg))
    try:
        brand = await pool.fetchrow(mirror.SQL.brand_by_id, args.brand)
        if brand is None:
            _fail(f"brand {args.brand!r} not found")
        if args.command == "iys":
            await _push_register(pool, client, cfg, brand, args)
        elif args.command == "mirror":
            await _seed(pool, client, cfg, args)
        else:
            await _reconcile(pool, client, args)
    finally:
        await client.close()
        await pool.close()


async def _push_register(pool: Any, client: Any, cfg: Any, brand: Any,
                         args: argparse.Namespace) -> None:
    from iys_push import mirror, mirror_client

    settings = cfg.mirror
    if not settings.push_configured:
        _fail("the push endpoint has no credentials: set [mirror] push_username and "
              "IYS_INBOUND_PUSH_PASSWORD first (without them it refuses every request)")
    connections = [{"url": args.url, "type": t, "username": settings.push_username,
                    "password": settings.push_password}
                   for t in (args.types or ["MESAJ", "ARAMA"])]
    answer = await mirror_client.push_register(client, brand["iys_code"], brand["brand_code"],
                                               connections)
    if not answer.ok:
        _fail(f"İYS refused the registration: HTTP {answer.status} {answer.code or ''} "
              f"{answer.message}".strip())
    await pool.execute(mirror.SQL.mark_push_registered, brand["brand_code"], True)
    print(json.dumps({"registered": [c["type"] for c in connections], "url": args.url,
                      "iys": answer.body}, ensure_ascii=False))


async def _seed(pool: Any, client: Any, cfg: Any, args: argparse.Namespace) -> None:
    from iys_push import seed

    try:
        text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8-sig")
        lines = text.splitlines()
    except OSError as exc:
        _fail(f"{args.file}: {exc.strerror}")
    recipients, invalid = seed.recipients_of(lines, args.type)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(recipients), unit="numbers", file=sys.stderr)
    try:
        result = await seed.seed(pool, client, args.brand, recipients, type_=args.type,
                                 recipient_type=args.recipient_type,
                                 requests_per_second=cfg.mirror.seed_requests_per_second,
                                 progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps({"checked": result.checked, "onay": result.onay,
                      "changed": result.changed, "requests": result.requests,
                      "invalid": len(invalid)}, ensure_ascii=False))


async def _reconcile(pool: Any, client: Any, args: argparse.Namespace) -> None:
    from inbound import reconcile_audited
    from inbound.api import admin

    admin.AUDIT_VIA.set("cli")   # the setting and an agreement are audited as the CLI's
    if args.auto_agree is not None:
        if not await reconcile_audited.set_auto_agree(pool, args.brand, args.auto_agree == "on",
                                                      reconcile_audited.CLI):
            _fail(f"no brand {args.brand!r}")
        print(f"brand {args.brand}: automatic agreement {args.auto_agree}")
        if args.date is None:
            return
    if args.date is None:
        _fail("--date YYYY-MM-DD is required")
    report = await reconcile_audited.run_day(pool, client, args.brand, args.date,
                                             agree=bool(args.agree), actor=reconcile_audited.CLI)
    print(json.dumps(report, ensure_ascii=False, indent=1))
    if report["outcome"] != "matched":
        raise SystemExit(EXIT_FAILED)
