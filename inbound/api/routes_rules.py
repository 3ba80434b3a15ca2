"""The rules file over the API (export and import, validated as a whole like `rules
import`) and the audit log of every configuration change."""

from __future__ import annotations

from typing import Any

import tomli_w
from aiohttp import web

from inbound.api import changes, params, queries, resources, rules_input
from inbound.api.auth import Caller
from inbound.api.changes import Config
from inbound.api.problems import Problem
from inbound.api.routes_config import context, owner_exists

routes = web.RouteTableDef()
AUDIT_RESOURCES = ("brand", "number", "owner", "token", "rules", "review", "reconciliation")


# -- the rules file --------------------------------------------------------------------

def _rules_view(caller: Caller, config: Config) -> dict[str, Any]:
    """The rules file as this caller may see it (an owner: its brands and their numbers)."""
    brands = []
    for brand in config.rules["brand"]:
        if resources.owns(caller, config, brand["id"]):
            item = dict(brand)
            if caller.admin and config.owners.get(brand["id"]) is not None:
                item["owner"] = config.owners[brand["id"]]
            brands.append(item)
    numbers = []
    for number in config.rules["number"]:
        if resources.number_visible(caller, config, number):
            item = dict(number)
            if not caller.admin and item.get("brands"):
                item["brands"] = [b for b in item["brands"] if resources.owns(caller, config, b)]
            numbers.append(item)
    return {"number": numbers, "brand": brands}


@routes.get("/rules")
async def export_rules(request: web.Request) -> web.Response:
    pool, caller = context(request)
    fmt = params.choice(request.query, "format", ("json", "toml"))
    view = _rules_view(caller, await changes.load(pool))
    if fmt == "toml":
        return web.Response(text=tomli_w.dumps(view), content_type="application/toml")
    return web.json_response(view)


@routes.put("/rules")
async def import_rules(request: web.Request) -> web.Response:
    """Replace the caller's configuration: the operator the whole file, an owner its brands."""
    pool, caller = context(request)
    data = await rules_input.read(request)
    brands = [dict(b) for b in data.get("brand", [])]
    owners_in_file = {b["id"]: b.pop("owner") for b in brands if "owner" in b}
    if owners_in_file and not caller.admin:
        raise Problem(403, "only the operator assigns brands to owners",
                      errors=[{"field": "brand.owner", "reason": "admin only"}])
    for owner_id in set(owners_in_file.values()):
        await owner_exists(pool, owner_id, "brand.owner")

    def mutate(config: Config) -> tuple[Any, Any]:
        before = _rules_view(caller, config)
        if caller.admin:
            config.rules = {"number": [dict(n) for n in data.get("number", [])],
                            "brand": brands}
            for b in brands:
                config.owners[b["id"]] = owners_in_file.get(b["id"], config.owners.get(b["id"]))
        else:
            _import_own_brands(caller, config, data, brands)
        return before, _rules_view(caller, config)

    after = await changes.apply(pool, caller, action="import", resource="rules",
                                resource_id="rules", mutate=mutate)
    return web.json_response(after)


def _import_own_brands(caller: Caller, config: Config, data: dict[str, Any],
                       brands: list[dict[str, Any]]) -> None:
    if "number" in data and data["number"] != _rules_view(caller, config)["number"]:
        raise Problem(403, "numbers are managed by the operator; import the file without "
                      "[[number]] or with the numbers exactly as exported",
                      errors=[{"field": "number", "reason": "admin only"}])
    for i, brand in enumerate(brands):
        if brand["id"] in config.owners and not resources.owns(caller, config, brand["id"]):
            raise Problem(409, f"brand id {brand['id']!r} is not available",
                          errors=[{"field": f"brand[{i}].id", "reason": "already taken"}])
    keep = [b for b in config.rules["brand"] if not resources.owns(caller, config, b["id"])]
    config.rules["brand"] = keep + brands
    for brand in brands:
        config.owners[brand["id"]] = caller.owner_id


# -- audit -----------------------------------------------------------------------------

@routes.get("/audit")
async def list_audit(request: web.Request) -> web.Response:
    pool, caller = context(request)
    query = request.query
    limit = params.limit(query)
    resource = params.choice(query, "resource", AUDIT_RESOURCES)
    scope = None if caller.admin else caller.owner_id
    rows = await pool.fetch(queries.SQL.list_audit, scope, params.cursor(query), resource,
                            params.query_text(query, "resource_id"), limit)
    items = [{"id": r["id"], "at": r["at"].isoformat(), "actor": {
        "admin": r["actor_admin"], "owner_id": r["actor_owner_id"],
        "token_id": r["actor_token_id"], "via": r["actor_via"]}, "action": r["action"],
        "resource": r["resource"],
        "resource_id": r["resource_id"], "before": r["before"], "after": r["after"]}
        for r in rows]
    next_cursor = params.encode_cursor(rows[-1]["id"]) if len(rows) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})
