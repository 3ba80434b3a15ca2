"""Configuration changes: validate the whole result, write the difference, audit, NOTIFY.

Every change (one brand, one number, a whole rules file) follows the same path inside one
transaction, under an advisory lock so that two changes never validate against the same
stale state:

1. load the rules as they are (``store.load_rules_dict``) and each brand's owner;
2. let the caller's change edit a copy of that dict;
3. validate the whole copy with ``keywords.RuleSet.from_dict`` — the same validation as
   ``iys-inbound rules import`` — and answer 409 with every conflict if it fails; then
   refuse, the same way, a brand the change adds or alters whose name or alias is one typo
   from, or extends, another owner's brand word on a shared number
   (``keywords.ownership``);
4. write only what differs, record it in ``config_audit``, and ``NOTIFY iys_rules`` so every
   process reloads its rules.

Conflicts are told to a brand owner without naming another owner's brand.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from inbound import store
from inbound.api import queries
from inbound.api.admin import audit
from inbound.api.auth import Caller
from inbound.api.problems import Problem
from keywords import RulesError, RuleSet
from keywords.ownership import CLOSE, owner_conflicts

BRAND_COLUMNS = ("id", "name", "aliases", "iys_code", "brand_code", "owner")
NUMBER_COLUMNS = ("msisdn", "shared", "brand")


@dataclass
class Config:
    """The rules dict plus who owns each brand (``owner`` is not part of the rules file)."""

    rules: dict[str, Any]
    owners: dict[str, int | None]

    def brand(self, brand_id: str) -> dict[str, Any] | None:
        return next((b for b in self.rules["brand"] if b["id"] == brand_id), None)

    def number(self, msisdn: str) -> dict[str, Any] | None:
        return next((n for n in self.rules["number"] if n["msisdn"] == msisdn), None)


Mutation = Callable[[Config], tuple[Any, Any]]  # edits the config; returns (before, after)


async def load(conn: asyncpg.Connection | asyncpg.Pool) -> Config:
    rules = await store.load_rules_dict(conn)
    owners = {r["id"]: r["owner_id"] for r in await conn.fetch(queries.SQL.brand_owners)}
    return Config(rules, owners)


def conflicts_for(caller: Caller, config: Config, error: RulesError) -> list[dict[str, Any]]:
    """Every conflict, with other owners' brands left unnamed for a brand owner."""
    out = []
    for conflict in error.conflicts:
        message = conflict.message
        foreign = [m for m in conflict.meanings if m.startswith("brand:")
                   and not caller.admin and config.owners.get(m[6:]) != caller.owner_id]
        if foreign:
            where = f" on {conflict.number}" if conflict.number else ""
            message = (f"{conflict.word!r} is too close to a word of another brand{where}"
                       if CLOSE in conflict.meanings else
                       f"{conflict.word!r} is already used by another brand{where}")
        item: dict[str, Any] = {"field": "rules", "reason": message, "word": conflict.word}
        if conflict.number:
            item["number"] = conflict.number
        out.append(item)
    return out


async def apply(pool: asyncpg.Pool, caller: Caller, *, action: str, resource: str,
                resource_id: str, mutate: Mutation,
                links: tuple[str, list[str] | None] | None = None) -> Any:
    """Run one change end to end; returns the ``after`` view ``mutate`` gave.

    ``links`` = (msisdn, link names or None to keep them) sets which links serve a number.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(queries.SQL.config_lock)
        before_config = await load(conn)
        config = copy.deepcopy(before_config)
        before, after = mutate(config)
        try:
            rules = RuleSet.from_dict(config.rules)
            close = owner_conflicts(rules, config.owners, changed_brands(before_config, config))
            if close:
                raise RulesError(close)
        except RulesError as exc:
            errors = conflicts_for(caller, config, exc)
            raise Problem(409, "the change conflicts with the keyword rules: "
                          + "; ".join(e["reason"] for e in errors),
                          title="Conflicting keyword rules", errors=errors) from None
        await write_difference(conn, before_config, config)
        if links is not None and links[1] is not None:
            await conn.execute(queries.SQL.delete_number_links, links[0])
            await conn.execute(queries.SQL.insert_number_links, links[0], links[1])
        owner_ids = sorted({o for o in (before_config.owners.get(resource_id),
                                        config.owners.get(resource_id)) if o is not None})
        if resource == "rules" and not caller.admin and caller.owner_id is not None:
            owner_ids = [caller.owner_id]
        await audit(conn, actor_token_id=caller.token_id, actor_owner_id=caller.owner_id,
                    actor_admin=caller.admin, action=action, resource=resource,
                    resource_id=resource_id, owner_ids=owner_ids, before=before, after=after)
        await conn.execute(store.SQL.notify_rules)
    return after


def changed_brands(old: Config, new: Config) -> set[str]:
    """Brands added, renamed, re-aliased or given to another owner by a change."""
    before = {b["id"]: b for b in old.rules["brand"]}
    return {b["id"] for b in new.rules["brand"]
            if b["id"] not in before
            or (b.get("name"), b.get("aliases", [])) != (before[b["id"]].get("name"),
                                                        before[b["id"]].get("aliases", []))
            or new.owners.get(b["id"]) != old.owners.get(b["id"])}


def _settings(item: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in columns}


async def write_difference(conn: asyncpg.Connection, old: Config, new: Config) -> None:
    """Write what differs between two configurations (brands first, numbers, then deletions,
    so that foreign keys hold at every statement)."""
    old_brands = {b["id"]: b for b in old.rules["brand"]}
    new_brands = {b["id"]: b for b in new.rules["brand"]}
    for brand_id, brand in new_brands.items():
        args = (brand_id, brand["name"], list(brand.get("aliases", [])),
                int(brand["iys_code"]), int(brand["brand_code"]),
                _settings(brand, BRAND_COLUMNS), new.owners.get(brand_id))
        if brand_id not in old_brands:
            await conn.execute(queries.SQL.insert_brand, *args)
        elif brand != old_brands[brand_id] or new.owners.get(brand_id) != old.owners.get(brand_id):
            await conn.execute(queries.SQL.update_brand, *args)
    old_numbers = {n["msisdn"]: n for n in old.rules["number"]}
    new_numbers = {n["msisdn"]: n for n in new.rules["number"]}
    for msisdn in old_numbers.keys() - new_numbers.keys():
        await conn.execute(queries.SQL.delete_number, msisdn)
    for msisdn, number in new_numbers.items():
        args = (msisdn, bool(number.get("shared", False)), number.get("brand"),
                _settings(number, NUMBER_COLUMNS))
        if msisdn not in old_numbers:
            await conn.execute(store.SQL.insert_number, *args)
        elif number != old_numbers[msisdn]:
            await conn.execute(queries.SQL.update_number, *args)
    for brand_id in old_brands.keys() - new_brands.keys():
        if await conn.fetchval(queries.SQL.brand_has_events, brand_id):
            raise Problem(409, f"brand {brand_id!r} has consent events; they are evidence and "
                          "refer to it, so it cannot be deleted",
                          errors=[{"field": "id", "reason": "has consent events"}])
        await conn.execute(queries.SQL.delete_brand, brand_id)
