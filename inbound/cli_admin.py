"""``iys-inbound admin``: the operator's commands for owners, tokens, passwords and brands.

Mistakes end with one line on stderr and exit status 1, as everywhere in the CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn


def die(message: str, status: int) -> NoReturn:
    print(f"iys-inbound: {message}", file=sys.stderr)
    raise SystemExit(status)


def _read_password(from_stdin: bool) -> str:
    import getpass

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != password:
        die("the two passwords differ", 1)
    return password


async def _set_password(pool: Any, args: argparse.Namespace) -> None:
    from inbound.web import set_password

    try:
        found = await set_password(pool, args.owner, _read_password(args.password_stdin))
    except ValueError as exc:
        die(str(exc), 1)
    if not found:
        die(f"no owner {args.owner}", 1)
    print(f"password set for owner {args.owner}")


async def run(args: argparse.Namespace, pool_factory: Callable[[], Awaitable[Any]]) -> None:
    """``iys-inbound admin …``: owners, tokens, passwords and brand owners; every change is
    audited as the CLI's."""
    import asyncpg

    from inbound.api import admin

    admin.AUDIT_VIA.set("cli")  # every change below is audited as the CLI's
    pool = await pool_factory()
    try:
        if args.admin_command == "create-owner":
            print(await admin.create_owner(pool, args.name, args.email))
        elif args.admin_command == "create-token":
            token = await admin.create_token(pool, owner_id=args.owner, admin=args.admin,
                                             name=args.name)
            print(token)
        elif args.admin_command == "revoke-token":
            if not await admin.revoke_token(pool, args.token_id):
                die(f"no active token {args.token_id}", 1)
            print(f"revoked {args.token_id}")
        elif args.admin_command == "set-password":
            await _set_password(pool, args)
        else:
            try:
                found = await admin.assign_brand(pool, args.brand, args.owner)
            except asyncpg.ForeignKeyViolationError:
                die(f"no owner {args.owner}", 1)
            if not found:
                die(f"no brand {args.brand!r}", 1)
            print(f"brand {args.brand} now belongs to owner {args.owner}")
    finally:
        await pool.close()
