"""Configuration endpoints: brands (with vocabulary and reply templates), numbers, the rules
file, and the audit log of every change."""

from __future__ import annotations

from typing import Any

import asyncpg
from aiohttp import web

from inbound.api import changes, inputs, params, queries, resources
from inbound.api.auth import Caller, caller_of
from inbound.api.changes import Config
from inbound.api.problems import Problem
from inbound.api.state import POOL

routes = web.RouteTableDef()


def context(request: web.Request) -> tuple[asyncpg.Pool, Caller]:
    return request.app[POOL], caller_of(request)


async def owner_exists(pool: asyncpg.Pool, owner_id: Any, field: str = "owner_id") -> int:
    owner_id = inputs.integer(owner_id, field, minimum=1, maximum=inputs.ID_MAX)
    if await pool.fetchrow(queries.SQL.owner, owner_id) is None:
        # well-formed, but not there now: a conflict with the current state, not bad input
        raise Problem(409, f"there is no owner {owner_id}",
                      errors=[{"field": field, "reason": "no such owner"}])
    return owner_id


async def _check_brand(pool: asyncpg.Pool, caller: Caller, brand_id: str) -> None:
    """404 before anything else (even body validation) for a brand the caller cannot see,
    so that another owner's brand answers exactly like a missing one."""
    scope = None if caller.admin else caller.owner_id
    if await pool.fetchval(queries.SQL.brand_visible, brand_id, scope) is None:
        raise Problem(404, f"brand {brand_id!r} not found")


# -- brands ----------------------------------------------------------------------------

@routes.get("/brands")
async def list_brands(request: web.Request) -> web.Response:
    pool, caller = context(request)
    config = await changes.load(pool)
    return web.json_response({"items": [
        resources.brand_view(config, b) for b in config.rules["brand"]
        if resources.owns(caller, config, b["id"])]})


@routes.post("/brands")
async def create_brand(request: web.Request) -> web.Response:
    pool, caller = context(request)
    body = await params.json_object(request)
    owner_id = caller.owner_id
    if caller.admin:
        owner_id = (await owner_exists(pool, body["owner_id"])
                    if body.get("owner_id") is not None else None)

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
    pool, caller = context(request)
    config = await changes.load(pool)
    brand = resources.visible_brand(caller, config, params.path_text(request, "brand_id", "brand"))
    return web.json_response(resources.brand_view(config, brand))


async def _update_brand(request: web.Request) -> web.Response:
    pool, caller = context(request)
    brand_id = params.path_text(request, "brand_id", "brand")
    await _check_brand(pool, caller, brand_id)
    body = await params.json_object(request)
    new_owner = (await owner_exists(pool, body["owner_id"])
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
    pool, caller = context(request)
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
        pool, caller = context(request)
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
    pool, caller = context(request)
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
    for row in await pool.fetch(queries.SQL.number_links):
        out.setdefault(row["msisdn"], []).append(row["link"])
    return out


@routes.get("/numbers")
async def list_numbers(request: web.Request) -> web.Response:
    pool, caller = context(request)
    config = await changes.load(pool)
    links = await _links(pool)
    return web.json_response({"items": [
        resources.number_view(caller, config, n, links.get(n["msisdn"], []))
        for n in config.rules["number"] if resources.number_visible(caller, config, n)]})


@routes.get("/numbers/{msisdn}")
async def get_number(request: web.Request) -> web.Response:
    pool, caller = context(request)
    config = await changes.load(pool)
    number = resources.visible_number(caller, config, params.path_text(request, "msisdn", "number"))
    links = (await _links(pool)).get(number["msisdn"], [])
    return web.json_response(resources.number_view(caller, config, number, links))


def _links_input(body: dict[str, Any]) -> list[str] | None:
    return params.string_list(body, "links", max_items=50, max_length=100)


async def _write_number(request: web.Request, *, creating: bool) -> web.Response:
    pool, caller = context(request)
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
    pool, caller = context(request)
    caller.require_admin()
    msisdn = params.path_text(request, "msisdn", "number")

    def mutate(config: Config) -> tuple[Any, Any]:
        number = resources.visible_number(caller, config, msisdn)
        config.rules["number"] = [n for n in config.rules["number"] if n["msisdn"] != msisdn]
        return resources.number_view(caller, config, number, []), None

    await changes.apply(pool, caller, action="delete", resource="number", resource_id=msisdn,
                        mutate=mutate, links=(msisdn, []))
    return web.Response(status=204)
