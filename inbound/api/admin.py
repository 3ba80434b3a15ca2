"""Owners and tokens: the plain async functions behind ``iys-inbound admin …`` and the API.

Each change is recorded in ``config_audit`` in the same transaction (the CLI as an admin
actor without a token). A token is returned in clear exactly once, by ``create_token``.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import asyncpg

from inbound.api import queries
from inbound.api.auth import new_token, token_digest

# where the change being made comes from: "api" (default), "web" (set by the page's
# middleware for its request) or "cli" (set by `iys-inbound admin …` and `rules import`).
# A context variable, so that every path to ``audit`` records it without passing it along.
AUDIT_VIA: ContextVar[str] = ContextVar("iys_audit_via", default="api")
# the web page's signed-in person making this request's changes (issue #33), else None
AUDIT_USER: ContextVar[int | None] = ContextVar("iys_audit_user", default=None)


async def audit(conn: asyncpg.Connection, *, actor_token_id: int | None,
                actor_owner_id: int | None, actor_admin: bool, action: str, resource: str,
                resource_id: str, owner_ids: list[int], before: Any, after: Any) -> None:
    await conn.execute(queries.SQL.insert_audit, actor_token_id, actor_owner_id, actor_admin,
                       action, resource, resource_id, owner_ids, before, after,
                       AUDIT_VIA.get(), AUDIT_USER.get())


async def assign_brand(pool: asyncpg.Pool, brand_id: str, owner_id: int) -> bool:
    """Give a brand to an owner (the CLI's ``admin assign-brand``); False if there is no
    such brand. Raises ``asyncpg.ForeignKeyViolationError`` for an unknown owner."""
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(queries.SQL.brand_owner_for_update, brand_id)
        if before is None:
            return False
        await conn.execute(queries.SQL.set_brand_owner, brand_id, owner_id)
        await audit(conn, actor_token_id=None, actor_owner_id=None, actor_admin=True,
                    action="update", resource="brand", resource_id=brand_id,
                    owner_ids=sorted({o for o in (before["owner_id"], owner_id) if o}),
                    before={"owner_id": before["owner_id"]}, after={"owner_id": owner_id})
    return True


def owner_view(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "email": row["email"],
            "created_at": row["created_at"].isoformat()}


def token_view(row: asyncpg.Record) -> dict[str, Any]:
    """A token's metadata; the clear token is never stored, so never shown again."""
    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": row["id"], "owner_id": row["owner_id"], "admin": row["is_admin"],
            "name": row["name"], "created_at": iso(row["created_at"]),
            "revoked_at": iso(row["revoked_at"]), "last_used_at": iso(row["last_used_at"]),
            "role": row["role"]}


async def create_owner(pool: asyncpg.Pool, name: str, email: str | None,
                       *, actor_token_id: int | None = None) -> int:
    """A new brand owner; raises ``asyncpg.UniqueViolationError`` if the e-mail is taken."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.SQL.insert_owner, name, email)
        await audit(conn, actor_token_id=actor_token_id, actor_owner_id=None, actor_admin=True,
                    action="create", resource="owner", resource_id=str(row["id"]),
                    owner_ids=[row["id"]], before=None, after=owner_view(row))
    return int(row["id"])


async def issue_token(pool: asyncpg.Pool, *, owner_id: int | None, admin: bool, name: str,
                      actor_token_id: int | None = None,
                      actor_owner_id: int | None = None,
                      role: str = "admin") -> tuple[str, dict[str, Any]]:
    """A new token: (clear token, metadata). The clear token exists only in this answer."""
    if not admin and owner_id is None:
        raise ValueError("a non-admin token needs an owner")
    token = new_token()
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(queries.SQL.insert_token, owner_id, admin, name,
                                  token_digest(token), role)
        view = token_view(row)
        await audit(conn, actor_token_id=actor_token_id, actor_owner_id=actor_owner_id,
                    actor_admin=actor_owner_id is None, action="create", resource="token",
                    resource_id=str(row["id"]), owner_ids=[owner_id] if owner_id else [],
                    before=None, after=view)
    return token, view


async def create_token(pool: asyncpg.Pool, *, owner_id: int | None, admin: bool,
                       name: str) -> str:
    """For the CLI: a new token, returned in clear once (only its SHA-256 is stored)."""
    token, _ = await issue_token(pool, owner_id=owner_id, admin=admin, name=name)
    return token


async def revoke_token(pool: asyncpg.Pool, token_id: int, *, scope: int | None = None,
                       actor_token_id: int | None = None,
                       actor_owner_id: int | None = None) -> bool:
    """Revoke a token; False if there is none by that id (within ``scope``) or it was revoked."""
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(queries.SQL.token, token_id, scope)
        if before is None or await conn.fetchval(queries.SQL.revoke_token, token_id, scope) is None:
            return False
        after = await conn.fetchrow(queries.SQL.token, token_id, scope)
        await audit(conn, actor_token_id=actor_token_id, actor_owner_id=actor_owner_id,
                    actor_admin=actor_owner_id is None, action="delete", resource="token",
                    resource_id=str(token_id),
                    owner_ids=[before["owner_id"]] if before["owner_id"] else [],
                    before=token_view(before), after=token_view(after))
    return True
