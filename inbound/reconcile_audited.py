"""A brand's reconciliation setting and agreements, audited the same way from the API, the
web page (which calls the API's route) and the CLI (issue #29): the agreement is the brand's
legal statement to İYS, so who made it, when and over which file is kept whichever door it
came through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

from inbound.api import admin
from iys_push import mirror
from iys_push.reconcile import reconcile_day


@dataclass(frozen=True)
class Actor:
    token_id: int | None
    owner_id: int | None
    admin: bool


CLI = Actor(token_id=None, owner_id=None, admin=True)


async def _audit(conn: Any, actor: Actor, owner_id: int | None, action: str, resource: str,
                 resource_id: str, before: Any, after: Any) -> None:
    await admin.audit(conn, actor_token_id=actor.token_id, actor_owner_id=actor.owner_id,
                      actor_admin=actor.admin, action=action, resource=resource,
                      resource_id=resource_id, owner_ids=[owner_id] if owner_id else [],
                      before=before, after=after)


async def set_auto_agree(pool: asyncpg.Pool, brand_id: str, on: bool, actor: Actor) -> bool:
    """Turn the brand's automatic agreement on or off; False if there is no such brand."""
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(mirror.SQL.brand_for_update, brand_id)
        if before is None:
            return False
        await conn.execute(mirror.SQL.set_auto_agree, brand_id, on)
        await _audit(conn, actor, before["owner_id"], "update", "brand", brand_id,
                     {"reconcile_auto_agree": before["reconcile_auto_agree"]},
                     {"reconcile_auto_agree": on})
    return True


async def run_day(pool: asyncpg.Pool, client: Any, brand_id: str, day: date, *,
                  agree: bool, actor: Actor) -> dict[str, Any]:
    """Reconcile ``day`` now; with ``agree`` record the agreement in İYS if everything
    matches, and audit it the first time it is recorded."""
    earlier = await pool.fetchval(mirror.SQL.day_agreed_at, brand_id, day)
    report = await reconcile_day(pool, client, brand_id, day, agree=True if agree else None)
    if report["agreed_at"] is not None and earlier is None:
        async with pool.acquire() as conn:
            owner = await conn.fetchval(mirror.SQL.mirror_brand_owner, brand_id)
            await _audit(conn, actor, owner, "agree", "reconciliation",
                         f"{brand_id}/{day.isoformat()}", None,
                         {"agreed_at": report["agreed_at"], "file_hash": report["file_hash"],
                          "file_rows": report["file_rows"]})
    return report
