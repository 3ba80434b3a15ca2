"""The review queue on a brand's events page: near misses waiting for the owner, each with
Confirm and Dismiss buttons (POST forms with the session's CSRF token) that call the API's own
handlers (``inbound.api.routes_reviews``): the same scoping, the same audit, the same 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from inbound.api import routes_reviews
from inbound.web import bridge, can
from inbound.web.html import Html, esc, seg, table, tr
from inbound.web.state import LANG, SESSION

routes = web.RouteTableDef()

DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed"}


def decision_label(lang: str, decision: str | None) -> str:
    """How a decided item shows in the events table (e.g. "automatic")."""
    return tr(lang, f"review_{decision}") if decision else ""


def _button(request: web.Request, base: str, item: dict[str, Any], action: str,
            back: str) -> str:
    lang = request[LANG]
    if not can.may(request, f'{base.removeprefix("/ui")}/reviews/{item["id"]}/{action}'):
        return ""
    label = tr(lang, f"review_{action}")
    return (f'<form method="post" action="{esc(base)}/reviews/{esc(item["id"])}/{action}" '
            f'class="inline"><input type="hidden" name="csrf" '
            f'value="{esc(request[SESSION].csrf)}"><input type="hidden" name="back" '
            f'value="{esc(back)}"><button type="submit" '
            f'class="{"primary" if action == "confirm" else "secondary"}" '
            f'aria-label="{esc(label)} #{esc(item["id"])}">{esc(label)}</button></form>')


async def section(request: web.Request, brand_id: str, local: Any, left: Any, *,
                  back: str = "events") -> str:
    """The open items, nearest deadline first; ``local`` and ``left`` format times as the
    events table does; ``back``: the brand's page a decision returns to (events,
    overview)."""
    lang = request[LANG]
    listing = await bridge.call(routes_reviews.list_reviews, request, query={"limit": "200"})
    base = f"/ui/brands/{seg(brand_id)}"
    heading = (f'<h2 id="reviews-h">{esc(tr(lang, "reviews"))} '
               f'({len(listing["items"])})</h2>')
    if not listing["items"]:
        return (f'<section class="box" aria-labelledby="reviews-h">{heading}'
                f'<p>{esc(tr(lang, "no_reviews"))}</p></section>')
    now = datetime.now(UTC)
    rows = []
    for item in listing["items"]:
        auto = (local(item["auto_ret_at"]) if item["auto_ret"] else tr(lang, "review_no_auto"))
        rows.append((
            item["id"], local(item["received_at"]), item["recipient"],
            Html(f'<span lang="tr">{esc(item["text"])}</span>'),
            Html(f'{esc(local(item["deadline_at"]))} '
                 f'<strong>({esc(left(lang, item["deadline_at"], now))})</strong>'),
            auto, Html(f'{_button(request, base, item, "confirm", back)} '
                       f'{_button(request, base, item, "dismiss", back)}')))
    heads = ("ID", tr(lang, "received"), tr(lang, "recipient"), tr(lang, "text"),
             tr(lang, "deadline"), tr(lang, "review_auto_at"), tr(lang, "review_action"))
    return (f'<section class="box" aria-labelledby="reviews-h">{heading}'
            f'<p class="hint">{esc(tr(lang, "reviews_hint"))}</p>'
            + table(heads, rows, tr(lang, "reviews")) + "</section>")


async def _decide(request: web.Request) -> web.StreamResponse:
    action = request.match_info["action"]
    if action not in DECISIONS:
        raise web.HTTPNotFound()
    handler = (routes_reviews.confirm_review if action == "confirm"
               else routes_reviews.dismiss_review)
    back = (await request.post()).get("back")
    item = await bridge.call(handler, request)  # 404 / 409 become the error page
    target = f"/ui/brands/{seg(item['brand_id'])}/{'overview' if back == 'overview' else 'events'}"
    raise web.HTTPSeeOther(f"{target}?reviewed={DECISIONS[action]}")


routes.post("/brands/{brand_id}/reviews/{event_id}/{action}")(_decide)
