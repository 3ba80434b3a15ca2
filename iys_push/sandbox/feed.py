"""``GET …/consents/changes``: the pull feed (IYS_API.md §2.7, §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web

from iys_push.sandbox.http_common import SANDBOX_STATE, authorise, errors
from iys_push.sandbox.rules import Movement
from iys_push.timefmt import format_iys

MAX_LIMIT = 1000
WINDOW = timedelta(days=7)
HIDDEN_RECENT = timedelta(hours=1)  # the newest hour is never in the feed: 167 hours in all


def _position(m: Movement) -> tuple[int, str]:
    # the feed's order and its cursor: `<epochSeconds>_<transactionId>` of the last item
    return int(m.creation_date.timestamp()), m.transaction_id


def _parse_after(after: str | None) -> tuple[int, str]:
    if not after:
        return (-1, "")
    seconds, _, tx = after.partition("_")
    return (int(seconds) if seconds.isdigit() else -1, tx)


def _page(rows: list[Movement], limit: int) -> list[Movement]:
    """Up to ``limit`` rows, never splitting rows that share one cursor position.

    Movements of one key within one second share a transactionId (§2.1), so they share a
    cursor; cutting between them would lose the rest for ever.
    """
    if len(rows) <= limit:
        return rows
    end = limit
    while end > 0 and _position(rows[end - 1]) == _position(rows[end]):
        end -= 1
    if end == 0:  # one group larger than the page: send it whole rather than never
        end = limit
        while end < len(rows) and _position(rows[end]) == _position(rows[limit - 1]):
            end += 1
    return rows[:end]


def _item(m: Movement) -> dict[str, Any]:
    return {"consentDate": format_iys(m.consent_date) if m.consent_date else "",
            "creationDate": format_iys(m.creation_date), "source": m.source,
            "recipient": m.recipient, "recipientType": m.recipient_type,
            "status": m.status, "type": m.type, "transactionId": m.transaction_id}


async def changes(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = authorise(request)
    if isinstance(auth, web.Response):
        return auth
    source = request.query.get("source", "IYS")
    problems = []
    if source not in ("HS", "IYS"):
        problems.append({"code": "H506", "message": "source alanı HS veya IYS olmalıdır.",
                         "location": ["source"], "value": source})
    raw_limit = request.query.get("limit", str(MAX_LIMIT))
    if not raw_limit.isdigit() or not 0 < int(raw_limit) <= MAX_LIMIT:
        problems.append({"code": "H507", "message": "limit alanı için karakter üst sınırı "
                         "1000 olmalıdır.", "location": ["limit"], "value": raw_limit})
    if problems:
        return errors(422, *problems)
    now = state.clock.now()
    oldest, newest = now - WINDOW, now - HIDDEN_RECENT
    cursor = _parse_after(request.query.get("after"))
    rows = sorted((m for m in state.movements
                   if m.brand_code == auth[1] and m.source.startswith(source + "_")
                   and oldest <= m.creation_date <= newest and _position(m) > cursor),
                  key=_position)
    page = _page(rows, int(raw_limit))
    if not page:
        return web.Response(status=204)
    seconds, tx = _position(page[-1])
    return web.json_response({"after": f"{seconds}_{tx}", "list": [_item(m) for m in page]})
