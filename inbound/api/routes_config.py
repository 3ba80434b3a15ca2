"""Configuration endpoints: brands (with vocabulary and reply templates), numbers, the rules
file, and the audit log of every change."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import asyncpg
import tomli_w
from aiohttp import web

from inbound.api import changes, params, queries, resources
from inbound.api.auth import Caller, caller_of
from inbound.api.changes import Config
from inbound.api.problems import Problem, invalid
from inbound.api.state import POOL

routes = web.RouteTableDef()


def _ctx(request: web.Request) -> tuple[asyncpg.Pool, Caller]:
    return request.app[POOL], caller_of(request)


async def _owner_exists(pool: asyncpg.Pool, owner_id: Any) -> int:
    if isinstance(owner_id, bool) or not isinstance(owner_id, int) or not 1 <= owner_id < 2**62:
        raise invalid("owner_id", "expected an owner id")
    if await pool.fetchrow(queries.OWNER, owner_id) is None:
        raise invalid("owner_id", f"there is no owner {owner_id}")
    return owner_id


async def _check_brand(pool: asyncpg.Pool, caller: Caller, brand_id: str) -> None:
    """404 before anything else (even body validation) for a brand the caller cannot see,
    so that another owner's brand answers exactly like a missing one."""
    scope = None if caller.admin else caller.owner_id
    if await pool.fetchval(queries.BRAND_VISIBLE, brand_id, scope) is None:
        raise Problem(404, f"brand {brand_id!r} not found")


# -- brands ----------------------------------------------------------------------------

@routes.get("/brands")
async def list_brands(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    config = await changes.load(pool)
    return web.json_response({"items": [
        resources.brand_view(config, b) for b in config.rules["brand"]
        if resources.owns(caller, config, b["id"])]})


@routes.post("/brands")
async def create_brand(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    body = await params.json_object(request)
    owner_id = caller.owner_id
    if caller.admin:
        owner_id = await _owner_exists(pool, body["owner_id"]) if body.get("owner_id") else None

    def mutate(config: Config) -> tuple[Any, Any]:
        item = resources.brand_input(caller, config, body, brand=None)
        if item["id"] in config.owners:
            # ids are one namespace for all owners; this is all an owner learns of another's
            raise Problem(409, f"brand id {item['id']!r} is not available",
                          errors=[{"field": "id", "reason": "already taken"}])
        config.rules["brand"].append(item)
        config.owners[item["id"]] = owner_id
        return None, resources.brand_view(config, item)

    view = await changes.apply(pool, caller, action="create", resource="brand",
                               resource_id=str(body.get("id")), mutate=mutate)
    return web.json_response(view, status=201)


@routes.get("/brands/{brand_id}")
async def get_brand(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    config = await changes.load(pool)
    brand = resources.visible_brand(caller, config, params.path_text(request, "brand_id", "brand"))
    return web.json_response(resources.brand_view(config, brand))


async def _update_brand(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    brand_id = params.path_text(request, "brand_id", "brand")
    await _check_brand(pool, caller, brand_id)
    body = await params.json_object(request)
    new_owner = (await _owner_exists(pool, body["owner_id"])
                 if caller.admin and body.get("owner_id") is not None else None)

    def mutate(config: Config) -> tuple[Any, Any]:
        brand = resources.visible_brand(caller, config, brand_id)
        before = resources.brand_view(config, brand)
        item = resources.brand_input(caller, config, body, brand=brand)
        config.rules["brand"] = [item if b["id"] == brand_id else b
                                 for b in config.rules["brand"]]
        if caller.admin and "owner_id" in body:
            config.owners[brand_id] = new_owner
        return before, resources.brand_view(config, item)

    view = await changes.apply(pool, caller, action="update", resource="brand",
                               resource_id=brand_id, mutate=mutate)
    return web.json_response(view)


@routes.patch("/brands/{brand_id}")
async def patch_brand(request: web.Request) -> web.Response:
    return await _update_brand(request)


@routes.delete("/brands/{brand_id}")
async def delete_brand(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    brand_id = params.path_text(request, "brand_id", "brand")

    def mutate(config: Config) -> tuple[Any, Any]:
        brand = resources.visible_brand(caller, config, brand_id)
        before = resources.brand_view(config, brand)
        config.rules["brand"] = [b for b in config.rules["brand"] if b["id"] != brand_id]
        return before, None

    await changes.apply(pool, caller, action="delete", resource="brand", resource_id=brand_id,
                        mutate=mutate)
    return web.Response(status=204)


def _settings_routes(section: str) -> None:
    """GET / PUT / DELETE of one brand's vocabulary or reply templates."""
    path = f"/brands/{{brand_id}}/{section}"

    async def get(request: web.Request) -> web.Response:
        pool, caller = _ctx(request)
        config = await changes.load(pool)
        brand_id = params.path_text(request, "brand_id", "brand")
        brand = resources.visible_brand(caller, config, brand_id)
        return web.json_response(resources.brand_view(config, brand)[section])

    async def put(request: web.Request) -> web.Response:
        view = await _update_brand_section(request, section, replace=True)
        return web.json_response(view[section])

    async def delete(request: web.Request) -> web.Response:
        await _update_brand_section(request, section, replace=False)
        return web.Response(status=204)

    routes.get(path)(get)
    routes.put(path)(put)
    routes.delete(path)(delete)


async def _update_brand_section(request: web.Request, section: str, *,
                                replace: bool) -> dict[str, Any]:
    pool, caller = _ctx(request)
    brand_id = params.path_text(request, "brand_id", "brand")
    await _check_brand(pool, caller, brand_id)
    body = await params.json_object(request) if replace else {}
    checked = (resources.check_vocabulary(body, "body") if section == "vocabulary"
               else resources.check_replies(body, "body"))

    def mutate(config: Config) -> tuple[Any, Any]:
        brand = resources.visible_brand(caller, config, brand_id)
        before = resources.brand_view(config, brand)
        item = dict(brand)
        resources.set_settings(item, checked if section == "vocabulary" else None,
                               checked if section == "replies" else None)
        config.rules["brand"] = [item if b["id"] == brand_id else b
                                 for b in config.rules["brand"]]
        return before, resources.brand_view(config, item)

    view: dict[str, Any] = await changes.apply(pool, caller, action="update", resource="brand",
                                               resource_id=brand_id, mutate=mutate)
    return view


_settings_routes("vocabulary")
_settings_routes("replies")


# -- numbers ---------------------------------------------------------------------------

async def _links(pool: asyncpg.Pool | asyncpg.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in await pool.fetch(queries.NUMBER_LINKS):
        out.setdefault(row["msisdn"], []).append(row["link"])
    return out


@routes.get("/numbers")
async def list_numbers(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    config = await changes.load(pool)
    links = await _links(pool)
    return web.json_response({"items": [
        resources.number_view(caller, config, n, links.get(n["msisdn"], []))
        for n in config.rules["number"] if resources.number_visible(caller, config, n)]})


@routes.get("/numbers/{msisdn}")
async def get_number(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    config = await changes.load(pool)
    number = resources.visible_number(caller, config, params.path_text(request, "msisdn", "number"))
    links = (await _links(pool)).get(number["msisdn"], [])
    return web.json_response(resources.number_view(caller, config, number, links))


def _links_input(body: dict[str, Any]) -> list[str] | None:
    return params.string_list(body, "links", max_items=50, max_length=100)


async def _write_number(request: web.Request, *, creating: bool) -> web.Response:
    pool, caller = _ctx(request)
    caller.require_admin()
    msisdn = "" if creating else params.path_text(request, "msisdn", "number")
    body = await params.json_object(request)
    msisdn = str(body.get("msisdn")) if creating else msisdn
    links = _links_input(body)

    def mutate(config: Config) -> tuple[Any, Any]:
        existing = None if creating else resources.visible_number(caller, config, msisdn)
        item = resources.number_input(body, number=existing)
        if creating and config.number(item["msisdn"]) is not None:
            raise Problem(409, f"number {item['msisdn']} already exists",
                          errors=[{"field": "msisdn", "reason": "already exists"}])
        others = [n for n in config.rules["number"] if n["msisdn"] != item["msisdn"]]
        config.rules["number"] = [*others, item]
        before = resources.number_view(caller, config, existing, []) if existing else None
        return before, resources.number_view(caller, config, item, links or [])

    view = await changes.apply(pool, caller, action="create" if creating else "update",
                               resource="number", resource_id=msisdn, mutate=mutate,
                               links=(msisdn, links))
    return web.json_response(view, status=201 if creating else 200)


@routes.post("/numbers")
async def create_number(request: web.Request) -> web.Response:
    return await _write_number(request, creating=True)


@routes.patch("/numbers/{msisdn}")
async def patch_number(request: web.Request) -> web.Response:
    return await _write_number(request, creating=False)


@routes.delete("/numbers/{msisdn}")
async def delete_number(request: web.Request) -> web.Response:
    pool, caller = _ctx(request)
    caller.require_admin()
    msisdn = params.path_text(request, "msisdn", "number")

    def mutate(config: Config) -> tuple[Any, Any]:
        number = resources.visible_number(caller, config, msisdn)
        config.rules["number"] = [n for n in config.rules["number"] if n["msisdn"] != msisdn]
        return resources.number_view(caller, config, number, []), None

    await changes.apply(pool, caller, action="delete", resource="number", resource_id=msisdn,
                        mutate=mutate, links=(msisdn, []))
    return web.Response(status=204)


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
    pool, caller = _ctx(request)
    fmt = params.choice(request.query, "format", ("json", "toml"))
    view = _rules_view(caller, await changes.load(pool))
    if fmt == "toml":
        return web.Response(text=tomli_w.dumps(view), content_type="application/toml")
    return web.json_response(view)


async def _rules_body(request: web.Request) -> dict[str, Any]:
    raw = await params.read_body(request, params.RULES_BODY_LIMIT)
    if request.content_type == "application/toml":
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise invalid("body", f"not valid TOML: {exc}") from None
    elif request.content_type == "application/json":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise invalid("body", f"not valid JSON: {exc}") from None
    else:
        raise Problem(415, "send the rules as application/toml or application/json")
    if not isinstance(data, dict):
        raise invalid("body", "expected a table / object with [[number]] and [[brand]]")
    params.check_strings(data, "body")
    for key in ("brand", "number"):
        entries = data.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise invalid(key, "expected a list of tables")
        for i, entry in enumerate(entries):
            _check_types(f"{key}[{i}]", entry, _FILE_TYPES[key])
    return data


# the types the database columns need; everything else is RuleSet.from_dict's to judge
_FILE_TYPES: dict[str, dict[str, tuple[type, bool]]] = {
    "brand": {"id": (str, True), "name": (str, True), "aliases": (list, False),
              "owner": (int, False)},
    "number": {"msisdn": (str, True), "shared": (bool, False), "brand": (str, False),
               "brands": (list, False)},
}


def _check_types(where: str, entry: dict[str, Any], types: dict[str, tuple[type, bool]]) -> None:
    for key, (kind, required) in types.items():
        value = entry.get(key)
        if value is None:
            if required:
                raise invalid(f"{where}.{key}", "required")
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise invalid(f"{where}.{key}", f"expected {kind.__name__}")
        if kind is list and not all(isinstance(v, str) for v in value):
            raise invalid(f"{where}.{key}", "expected a list of strings")
        if kind is str and (not value or "\x00" in value):
            raise invalid(f"{where}.{key}", "expected a non-empty string")


@routes.put("/rules")
async def import_rules(request: web.Request) -> web.Response:
    """Replace the caller's configuration: the operator the whole file, an owner its brands."""
    pool, caller = _ctx(request)
    data = await _rules_body(request)
    brands = [dict(b) for b in data.get("brand", [])]
    owners_in_file = {b["id"]: b.pop("owner") for b in brands if "owner" in b}
    if owners_in_file and not caller.admin:
        raise Problem(403, "only the operator assigns brands to owners",
                      errors=[{"field": "brand.owner", "reason": "admin only"}])
    for owner_id in set(owners_in_file.values()):
        await _owner_exists(pool, owner_id)

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
    pool, caller = _ctx(request)
    query = request.query
    limit = params.limit(query)
    resource = params.choice(query, "resource", ("brand", "number", "owner", "token", "rules"))
    scope = None if caller.admin else caller.owner_id
    rows = await pool.fetch(queries.LIST_AUDIT, scope, params.cursor(query), resource,
                            params.query_text(query, "resource_id"), limit)
    items = [{"id": r["id"], "at": r["at"].isoformat(), "actor": {
        "admin": r["actor_admin"], "owner_id": r["actor_owner_id"],
        "token_id": r["actor_token_id"]}, "action": r["action"], "resource": r["resource"],
        "resource_id": r["resource_id"], "before": r["before"], "after": r["after"]}
        for r in rows]
    next_cursor = params.encode_cursor(rows[-1]["id"]) if len(rows) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})
