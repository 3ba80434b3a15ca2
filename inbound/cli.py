"""The ``iys-inbound`` command.

Errors a person can fix (bad configuration, an unreachable database, an unknown flag) end
the command with one line on stderr and a non-zero exit status; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from inbound import (
    cli_admin,
    cli_check,
    cli_consents,
    cli_links,
    cli_mirror,
    cli_webhooks,
    logs,
)
from inbound import config as config_module

EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line instead of argparse's usage block + message
        self.exit(EXIT_CONFIG, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _requeue_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument("--event", type=int, action="append", dest="events", metavar="ID",
                   help="a failed event's id (repeatable)")
    q.add_argument("--brand", help="all failed events of this brand")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="iys-inbound",
        description="Turn SMS keywords (RET / IZIN) received over SMPP into consent records "
        "in Turkey's İYS. With no configuration everything runs locally: embedded "
        "PostgreSQL, İYS sandbox and SMSC simulator.",
    )
    p.add_argument("--config", metavar="FILE",
                   help="TOML configuration (default: ./iys-inbound.toml if present)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("run", help="run the service (links, pipeline, İYS pusher, HTTP)",
                   description="Run the service until Ctrl-C. Prints where everything listens.")
    sub.add_parser("migrate", help="apply database migrations and exit",
                   description="Apply the SQL migrations not yet applied, then exit.")

    s = sub.add_parser("send-sms", help="play a phone: send an SMS through the SMSC simulator",
                       description="Bind to the bundled SMSC simulator as a phone and send one "
                       "mobile-originated SMS (encoded like a handset would). The running "
                       "service receives it as a deliver_sm.")
    s.add_argument("text", help='the message, e.g. "RET ACME"')
    s.add_argument("--from", dest="sender", required=True, metavar="MSISDN",
                   help="the phone number, e.g. 905321234567")
    s.add_argument("--to", required=True, metavar="NUMBER", help="short number, e.g. 4609")
    s.add_argument("--host", help="simulator host (default from configuration)")
    s.add_argument("--port", type=int, help="simulator port (default from configuration)")

    e = sub.add_parser("events", help="list recent messages and consent events",
                       description="Show the latest stored messages and consent events with "
                       "their İYS state and timestamps (phone numbers masked).")
    e.add_argument("--limit", type=int, default=20, help="how many of each (default 20)")
    e.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    esub = e.add_subparsers(dest="events_command", parser_class=_Parser)
    _requeue_arguments(esub.add_parser(
        "requeue", help="send failed consent events to İYS again (same as 'iys-inbound requeue')",
        description="Put failed consent events back in the outbox (after the cause was fixed)."))

    sb = sub.add_parser("sandbox-iys", help="run the bundled İYS sandbox server",
                        description="Serve a faithful local stand-in of the İYS API (token, "
                        "consents, batches, changes) with fault knobs under /_sandbox/.")
    sb.add_argument("--host", default="127.0.0.1")
    sb.add_argument("--port", type=int, default=8091)
    sb.add_argument("--batch-result-delay", type=float, default=300.0, metavar="SECONDS",
                    help="sandbox-clock seconds before batch items leave enqueue (İYS: 300)")

    sm = sub.add_parser("simulate-smsc", help="run the bundled SMSC simulator",
                        description="Serve a small SMSC: the service binds as receiver or "
                        "transceiver; send-sms binds as a phone.")
    sm.add_argument("--host", default="127.0.0.1")
    sm.add_argument("--port", type=int, default=2775)
    sm.add_argument("--system-id", default="iys-inbound")
    sm.add_argument("--password", default="sim-pass")

    x = sub.add_parser("explain", help="what would this SMS do on this number?",
                       description="Print one JSON object: outcome, events, normalized text "
                       "and reason.")
    x.add_argument("text")
    x.add_argument("--number", required=True, help="destination number, e.g. 4609")
    x.add_argument("--rules", metavar="FILE", help="rules TOML (default: the database)")

    a = sub.add_parser("admin", help="operator tasks: owners, passwords and API tokens",
                       description="Create brand owners and API tokens (a token is printed "
                       "once; only its hash is stored).")
    asub = a.add_subparsers(dest="admin_command", required=True, parser_class=_Parser)
    ao = asub.add_parser("create-owner", help="create a brand owner; prints its id")
    ao.add_argument("--name", required=True)
    ao.add_argument("--email")
    at = asub.add_parser("create-token", help="create an API token; prints it once")
    who = at.add_mutually_exclusive_group(required=True)
    who.add_argument("--owner", type=int, metavar="ID", help="a token for this owner's brands")
    who.add_argument("--admin", action="store_true", help="an operator (admin) token")
    at.add_argument("--name", default="cli", help="a label to recognise the token by")
    ar = asub.add_parser("revoke-token", help="revoke an API token by id")
    ar.add_argument("token_id", type=int)
    ab = asub.add_parser("assign-brand", help="give a brand to an owner")
    ab.add_argument("brand")
    ab.add_argument("--owner", type=int, required=True, metavar="ID")
    ap = asub.add_parser("set-password", help="set or reset an owner's web page password",
                         description="Set (or reset) the password an owner signs in to /ui/ "
                         "with (at least 10 characters). Ends the owner's sessions and lifts "
                         "a lock-out. Asks twice on a terminal, unless --password-stdin.")
    ap.add_argument("--owner", type=int, required=True, metavar="ID")
    ap.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of standard input")

    _requeue_arguments(sub.add_parser(
        "requeue", help="send failed consent events to İYS again",
        description="Put failed consent events back in the outbox (after the cause was fixed)."))

    cli_consents.add_parser(sub, _Parser)
    cli_check.add_parser(sub, _Parser)
    cli_mirror.add_parsers(sub, _Parser)
    cli_links.add_parser(sub, _Parser)
    cli_webhooks.add_parser(sub)
    r = sub.add_parser("rules", help="import or export the keyword rules file")
    rsub = r.add_subparsers(dest="rules_command", required=True, parser_class=_Parser)
    ri = rsub.add_parser("import", help="validate FILE and load it (all or nothing)")
    ri.add_argument("file")
    rsub.add_parser("export", help="print the rules in the database as TOML")
    return p


def _die(message: str, status: int) -> NoReturn:
    print(f"iys-inbound: {message}", file=sys.stderr)
    raise SystemExit(status)


def main(argv: Sequence[str] | None = None) -> None:
    # pgserver asks platformdirs for a runtime dir it does not need; its warning is noise
    warnings.filterwarnings("ignore", module="platformdirs")
    args = _parser().parse_args(argv)
    try:
        cfg = config_module.load(args.config)
    except config_module.ConfigError as exc:
        _die(f"configuration error: {exc}", EXIT_CONFIG)
    logs.configure(cfg.log_format, cfg.log_level)
    import asyncpg

    from inbound.db import DatabaseUnavailable
    from keywords import RulesError

    try:
        asyncio.run(_dispatch(args, cfg))
    except DatabaseUnavailable as exc:
        _die(f"database unavailable: {exc}", EXIT_DATABASE)
    except RulesError as exc:
        _die("rules rejected:\n  " + "\n  ".join(c.message for c in exc.conflicts), EXIT_CONFIG)
    except asyncpg.UndefinedTableError as exc:  # a schema older than this code, not migrated
        _die(f"the database lacks part of the schema ({exc}): run 'iys-inbound migrate'",
             EXIT_DATABASE)
    except asyncpg.InsufficientPrivilegeError as exc:
        _die(f"the database user may not do this ({exc}): run 'iys-inbound migrate' as the "
             "schema's owner", EXIT_DATABASE)
    except (ConnectionError, OSError, TimeoutError) as exc:
        _die(f"{type(exc).__name__}: {exc}", EXIT_FAILED)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


async def _dispatch(args: argparse.Namespace, cfg: config_module.Config) -> None:
    handler = {
        "run": _run, "migrate": _migrate, "send-sms": _send_sms, "events": _events,
        "sandbox-iys": _sandbox, "simulate-smsc": _simulator, "explain": _explain,
        "rules": _rules, "requeue": _requeue,
        "admin": lambda a, c: cli_admin.run(a, lambda: _pool(c)),
        "consents": lambda a, c: cli_consents.run(a, lambda: _pool(c)),
        "check": lambda a, c: cli_check.run(a, lambda: _pool(c), c.check),
        **dict.fromkeys(("iys", "mirror", "reconcile"),
                        lambda a, c: cli_mirror.run(a, c, lambda: _pool(c))),
        "links": lambda a, c: cli_links.run(a, c.consent_links.base_url, lambda: _pool(c)),
        "webhooks": lambda a, c: cli_webhooks.run(a, c, lambda: _pool(c)),
        "notices": lambda a, c: cli_webhooks.run_notices(a, lambda: _pool(c)),
    }[args.command]
    await handler(args, cfg)


async def _run(_: argparse.Namespace, cfg: config_module.Config) -> None:
    from inbound.service import serve

    await serve(cfg)


async def _pool(cfg: config_module.Config) -> Any:
    """A small pool on a migrated database: every command that reads or writes the schema
    comes through here, so a database that was never migrated is migrated first (as ``run``
    does at start-up) instead of failing with a missing table."""
    from inbound import db
    from inbound.service import resolve_dsn

    pool = await db.connect_pool(await resolve_dsn(cfg), min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await db.migrate(conn)
    except BaseException:
        await pool.close()
        raise
    return pool


async def _migrate(_: argparse.Namespace, cfg: config_module.Config) -> None:
    from inbound import db
    from inbound.service import resolve_dsn

    dsn = await resolve_dsn(cfg)
    try:
        conn = await db.connect(dsn)
    except OSError as exc:
        raise db.DatabaseUnavailable(f"cannot connect to {db.redact_dsn(dsn)}: {exc}") from exc
    try:
        applied = await db.migrate(conn)
    finally:
        await conn.close()
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")


async def _send_sms(args: argparse.Namespace, cfg: config_module.Config) -> None:
    from smpp_bind import pdu
    from smpp_bind.phone import send_sms

    host = args.host or cfg.simulator_host
    port = args.port or cfg.simulator_port
    result = await send_sms(host, port, args.sender, args.to, args.text)
    if result.ok:
        print(f"delivered in {result.parts} part(s) and stored by the service")
    else:
        names = ", ".join(pdu.status_name(s) for s in result.statuses)
        _die(f"not accepted: {names} (is 'iys-inbound run' running?)", EXIT_FAILED)


def _row(record: Any) -> dict[str, Any]:
    from smpp_bind.addresses import mask_msisdn

    out = {}
    for key, value in dict(record).items():
        if key in ("recipient", "sender") and value:
            value = mask_msisdn(value)
        out[key] = value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else value
    return out


async def _events(args: argparse.Namespace, cfg: config_module.Config) -> None:
    from inbound import store

    if getattr(args, "events_command", None) == "requeue":
        await _requeue(args, cfg)
        return

    pool = await _pool(cfg)
    try:
        messages = [_row(r) for r in await pool.fetch(store.SQL.recent_messages, args.limit)]
        events = [_row(r) for r in await pool.fetch(store.SQL.recent_events, args.limit)]
    finally:
        await pool.close()
    if args.json:
        for m in messages:
            print(json.dumps({"message": m}, ensure_ascii=False))
        for e in events:
            print(json.dumps({"event": e}, ensure_ascii=False))
        return
    print("Messages (newest first)")
    for m in messages:
        who = m["sender"] or "-"
        print(f"  #{m['id']:<5} {m['received_at']}  {who:<16} → {m['destination_addr'] or '-':<13}"
              f" {m['outcome']:<14} {m['text']!r}")
    print("Consent events (newest first)")
    for e in events:
        # İYS's creationDate is Turkey time, as İYS wrote it
        accepted = (f"İYS tx {e['iys_transaction_id'][:12]}… at {e['iys_creation_date']} "
                    "(Europe/Istanbul)"
                    if e["iys_transaction_id"] else (e["last_error_code"] or ""))
        print(f"  #{e['id']:<5} {e['received_at']}  {e['brand_id']:<8} {e['status']:<4} "
              f"{e['type']:<6} {e['recipient']:<15} {e['state']:<10} {accepted}")


async def _sandbox(args: argparse.Namespace, _: config_module.Config) -> None:
    from iys_push.sandbox import run_sandbox

    print(f"İYS sandbox on http://{args.host}:{args.port} (admin: /_sandbox/state)", flush=True)
    from iys_push.sandbox import SandboxConfig

    await run_sandbox(args.host, args.port,
                      SandboxConfig(batch_result_delay=args.batch_result_delay))


async def _simulator(args: argparse.Namespace, _: config_module.Config) -> None:
    from smpp_bind.simulator import Simulator

    sim = Simulator(args.system_id, args.password)
    port = await sim.start(args.host, args.port)
    print(f"SMSC simulator on {args.host}:{port} (system_id {args.system_id})", flush=True)
    await asyncio.Event().wait()


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        _die(f"cannot read {path!r}: {exc.strerror}", EXIT_CONFIG)


async def _load_ruleset(args: argparse.Namespace, cfg: config_module.Config) -> Any:
    from keywords import RuleSet

    if args.rules:
        return RuleSet.from_toml(_read(args.rules))
    from inbound import store

    pool = await _pool(cfg)
    try:
        return RuleSet.from_dict(await store.load_rules_dict(pool))
    finally:
        await pool.close()


async def _explain(args: argparse.Namespace, cfg: config_module.Config) -> None:
    from keywords import explain, match

    rules = await _load_ruleset(args, cfg)
    print(json.dumps(explain(match(args.text, args.number, rules)), ensure_ascii=False))


async def _requeue(args: argparse.Namespace, cfg: config_module.Config) -> None:
    from iys_push.pusher import requeue_failed

    if not args.events and not args.brand:
        _die("name --event ID (repeatable) or --brand ID", EXIT_CONFIG)
    pool = await _pool(cfg)
    try:
        count = await requeue_failed(pool, event_ids=args.events, brand_id=args.brand)
    finally:
        await pool.close()
    print(f"requeued {count} event(s)")


async def _rules(args: argparse.Namespace, cfg: config_module.Config) -> None:
    from inbound import store
    from keywords import RuleSet

    if args.rules_command == "import":
        from inbound.api import admin

        rules = RuleSet.from_toml(_read(args.file))
        admin.AUDIT_VIA.set("cli")
        pool = await _pool(cfg)
        try:
            async with pool.acquire() as conn, conn.transaction():
                before = await store.load_rules_dict(conn)
                await store.replace_rules(conn, rules.to_dict())
                await admin.audit(conn, actor_token_id=None, actor_owner_id=None,
                                  actor_admin=True, action="import", resource="rules",
                                  resource_id="rules", owner_ids=[], before=before,
                                  after=rules.to_dict())
        finally:
            await pool.close()
        print(f"imported {args.file}")
    else:
        args.rules = None
        print((await _load_ruleset(args, cfg)).to_toml(), end="")


if __name__ == "__main__":
    main()
