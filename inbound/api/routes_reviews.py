"""The review queue of a brand: near misses ("iptal etmek istiyorum") waiting for its owner.

``GET /brands/{brand_id}/reviews`` lists the open items (the message, the recipient in full
as the events API shows it, the deadline and the time left); ``POST …/reviews/{id}/confirm``
makes one the RET it would be (sent to İYS with the original receipt time as consent date)
and ``…/dismiss`` closes it. Both are audited (resource ``review``). Deciding an item twice
is a 409 that says how and when it was decided; another owner's brand or item is a 404.
See ``inbound/reviews.py``.
"""

from __future__ import annotations

import asyncpg
from aiohttp import web

from inbound import reviews, store
from inbound.api import params
from inbound.api.problems import Problem
from inbound.api.scope import visible_brand

routes = web.RouteTableDef()


async def _brand(request: web.Request) -> tuple[asyncpg.Pool, str, reviews.Actor]:
    """The pool, the brand id (404 unless the caller may see it) and the caller as actor."""
    pool, brand_id, caller = await visible_brand(request)
    return pool, brand_id, reviews.Actor(caller.token_id, caller.owner_id, caller.admin,
                                         caller.user_id)


@routes.get("/brands/{brand_id}/reviews")
async def list_reviews(request: web.Request) -> web.Response:
    pool, brand_id, _ = await _brand(request)
    limit = params.limit(request.query)
    rows = await pool.fetch(store.SQL.open_review_items, brand_id,
                            params.cursor(request.query), limit)
    items = [reviews.item_view(r) for r in rows]
    next_cursor = params.encode_cursor(items[-1]["id"]) if len(items) == limit else None
    return web.json_response({"items": items, "next_cursor": next_cursor})


async def _decide(request: web.Request, decision: reviews.Decision) -> web.Response:
    pool, brand_id, actor = await _brand(request)
    event_id = params.path_id(request, "event_id")
    try:
        item = await reviews.decide(pool, brand_id, event_id, decision, actor)
    except reviews.NotReviewable:
        raise Problem(404, f"review item {event_id} not found for brand {brand_id!r}") from None
    except reviews.AlreadyDecided as exc:
        done = exc.item
        raise Problem(
            409, f"review item {event_id} was already decided: {done['review_decision']} "
            f"at {done['reviewed_at']} by {done['reviewed_by']} (state {done['state']}); "
            "nothing was changed",
            title="Already decided",
            errors=[{"field": "state", "reason": f"already {done['review_decision']}"}],
        ) from None
    return web.json_response(item)


@routes.post("/brands/{brand_id}/reviews/{event_id}/confirm")
async def confirm_review(request: web.Request) -> web.Response:
    return await _decide(request, "confirmed")


@routes.post("/brands/{brand_id}/reviews/{event_id}/dismiss")
async def dismiss_review(request: web.Request) -> web.Response:
    return await _decide(request, "dismissed")
