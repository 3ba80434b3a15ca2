"""A brand's events (filters, pages, deadline of pending RETs, CSV, chart per day) and one
recipient's history printable as evidence."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from inbound.api import inputs, params, routes_events
from inbound.api.problems import Problem, invalid
from inbound.api.state import POOL
from inbound.web import bridge, pages_consents, pages_reviews, queries
from inbound.web.html import Html, esc, seg, tr, url
from inbound.web.pages_brands import page
from inbound.web.state import LANG
from iys_push.timefmt import show_tr

routes = web.RouteTableDef()

TR_TIME = timezone(timedelta(hours=3), "TRT")  # Türkiye: UTC+3 all year since 2016
FILTERS = ("recipient", "status", "state", "type", "since", "until")
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CHART_DAYS = 30
COLOURS = {"RET": "#a4001d", "ONAY": "#1a5e20"}


def _local(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(TR_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _iys(value: str | None) -> str:
    """An İYS timestamp (the API gives it in Turkey time) with its zone named."""
    return show_tr(datetime.fromisoformat(value)) if value else ""


def _day(query: Any, name: str) -> date | None:
    """A filter's day (the form's date input): ASCII digits, years the API accepts."""
    raw = query.get(name)
    if not raw:
        return None
    try:
        if not DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, "expected a date such as 2024-05-01") from None
    if not inputs.FIRST_YEAR <= day.year <= inputs.LAST_YEAR:
        raise invalid(name, f"the year must be between {inputs.FIRST_YEAR} and "
                      f"{inputs.LAST_YEAR}")
    return day


def api_query(query: Any) -> dict[str, str]:
    """The page's filter (dates in Turkish time, ``until`` inclusive) as the API's query."""
    out = {k: query[k].strip() for k in ("recipient", "status", "state", "type", "cursor", "limit")
           if query.get(k, "").strip()}
    since, until = _day(query, "since"), _day(query, "until")
    if since:
        out["since"] = datetime.combine(since, datetime.min.time(), TR_TIME).isoformat()
    if until:
        out["until"] = datetime.combine(until + timedelta(days=1), datetime.min.time(),
                                        TR_TIME).isoformat()
    return out


def time_left(lang: str, deadline: str, now: datetime) -> str:
    left = datetime.fromisoformat(deadline) - now
    if left.total_seconds() <= 0:
        return tr(lang, "overdue")
    minutes = int(left.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days} {tr(lang, 'days')}"] if days else []) + [f"{hours} {tr(lang, 'hours')}"]
    if not days:
        parts.append(f"{mins} {tr(lang, 'minutes')}")
    return " ".join(parts) + " " + tr(lang, "time_left")


def _select(lang: str, name: str, label: str, options: tuple[str, ...], current: str) -> str:
    opts = f'<option value="">{esc(tr(lang, "any"))}</option>' + "".join(
        f'<option{" selected" if o == current else ""}>{esc(o)}</option>' for o in options)
    return (f'<div><label for="q-{name}">{esc(label)}</label>'
            f'<select id="q-{name}" name="{name}">{opts}</select></div>')


def _filter_form(lang: str, action: str, q: Any) -> str:
    def text(name: str, kind: str) -> str:
        return (f'<div><label for="q-{name}">{esc(tr(lang, name))}</label><input id="q-{name}" '
                f'name="{name}" type="{kind}" value="{esc(q.get(name, ""))}"></div>')

    return (f'<form method="get" action="{esc(action)}" class="filters box" role="search">'
            + text("recipient", "text")
            + _select(lang, "status", tr(lang, "status"), routes_events.STATUSES,
                      q.get("status", ""))
            + _select(lang, "state", tr(lang, "state"), routes_events.STATES, q.get("state", ""))
            + _select(lang, "type", tr(lang, "type"), routes_events.TYPES, q.get("type", ""))
            + text("since", "date") + text("until", "date")
            + f'<div><button class="primary" type="submit">{esc(tr(lang, "filter"))}</button>'
            "</div></form>")


def chart(lang: str, rows: list[Any], first: date, last: date) -> str:
    """Stacked bars of events per day by status, as inline SVG with a text alternative."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts: dict[tuple[date, str], int] = {(r["day"], r["status"]): r["n"] for r in rows}
    top = max([sum(counts.get((d, s), 0) for s in COLOURS) for d in days] + [1])
    width, height, pad = max(320, 14 * len(days) + 40), 160, 30
    bar = (width - pad - 10) / len(days)
    shapes = []
    for i, d in enumerate(days):
        y = height - 20
        for status, colour in COLOURS.items():
            n = counts.get((d, status), 0)
            if n:
                h = (height - 40) * n / top
                y -= h
                shapes.append(f'<rect x="{pad + i * bar:.1f}" y="{y:.1f}" '
                              f'width="{max(bar - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                              f"<title>{d.isoformat()} {status}: {n}</title></rect>")
    summary = ", ".join(f"{d.isoformat()} " + " ".join(
        f"{s} {counts[(d, s)]}" for s in COLOURS if counts.get((d, s)))
        for d in days if any(counts.get((d, s)) for s in COLOURS)) or tr(lang, "no_events")
    legend = " ".join(f'<span style="color:{c}">■ {s}</span>' for s, c in COLOURS.items())
    title = f"{tr(lang, 'chart')} {first.isoformat()} – {last.isoformat()}"
    return (f'<figure class="box"><svg role="img" aria-labelledby="chart-t chart-d" '
            f'viewBox="0 0 {width} {height}" width="100%" height="{height}" '
            f'preserveAspectRatio="xMinYMin meet"><title id="chart-t">{esc(title)}</title>'
            f'<desc id="chart-d">{esc(summary)}</desc>'
            f'<line x1="{pad}" y1="{height - 20}" x2="{width - 10}" y2="{height - 20}" '
            f'stroke="#1b1b1b"/><text x="2" y="20">{top}</text><text x="2" y="{height - 22}">0'
            f'</text><text x="{pad}" y="{height - 5}">{first.isoformat()}</text>'
            f'<text x="{width - 80}" y="{height - 5}">{last.isoformat()}</text>'
            + "".join(shapes) + f'</svg><figcaption>{esc(title)} · {legend}</figcaption></figure>')


async def _chart(request: web.Request, brand_id: str) -> str:
    pool = request.app[POOL]
    since, until = _day(request.query, "since"), _day(request.query, "until")
    if until is None:
        latest = await pool.fetchval(queries.SQL.last_event_at, brand_id)
        until = (latest.astimezone(TR_TIME).date() if latest
                 else datetime.now(TR_TIME).date())
    if since is None or since > until or (until - since).days > 366:
        since = until - timedelta(days=CHART_DAYS - 1)
    rows = await pool.fetch(queries.SQL.events_per_day, brand_id, since,
                            until + timedelta(days=1))
    return chart(request[LANG], rows, since, until)


@routes.get("/brands/{brand_id}/events")
async def events_page(request: web.Request) -> web.Response:
    lang = request[LANG]
    brand_id = request.match_info["brand_id"]
    q = request.query
    base = f"/ui/brands/{seg(brand_id)}"
    error = ""
    status = 200
    try:
        listing = await bridge.call(routes_events.list_events, request, query=api_query(q))
    except Problem as problem:
        if problem.status != 422:
            raise
        listing, status = {"items": [], "next_cursor": None}, 422
        error = f'<p class="err" role="alert">{esc(problem.detail)}</p>'
    now = datetime.now(UTC)
    rows = []
    for e in listing["items"]:
        deadline = _local(e["deadline_at"])
        if e["state"] == "pending" and e["status"] == "RET" and e["deadline_at"]:
            left = time_left(lang, e["deadline_at"], now)
            deadline = f"{deadline} <strong>({esc(left)})</strong>"
        who = f'{base}/recipients/{seg(e["recipient"])}'
        state = esc(e["state"])
        if e["review_decision"]:  # e.g. "pending · automatic RET"
            state = esc(f'{e["state"]} · '
                        f'{pages_reviews.decision_label(lang, e["review_decision"])}')
        rows.append(f'<tr><td>{esc(e["id"])}</td><td>{esc(_local(e["received_at"]))}</td>'
                    f'<td><a href="{esc(who)}">{esc(e["recipient"])}</a></td>'
                    f'<td>{esc(e["status"])}</td><td>{esc(e["type"])}</td>'
                    f'<td>{esc(e["source"])}</td><td>{state}</td><td>{deadline}</td>'
                    f'<td>{esc(e["iys_transaction_id"] or "")}</td></tr>')
    heads = ("ID", tr(lang, "received"), tr(lang, "recipient"), tr(lang, "status"),
             tr(lang, "type"), pages_consents.t(lang, "source"), tr(lang, "state"),
             tr(lang, "deadline"), tr(lang, "transaction"))
    table = (f'<div class="table"><table><caption class="hint">{esc(tr(lang, "events"))}'
             "</caption><thead><tr>"
             + "".join(f'<th scope="col">{esc(h)}</th>' for h in heads)
             + f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
             if rows else f'<p>{esc(tr(lang, "no_events"))}</p>')
    kept = {k: q.get(k, "") for k in (*FILTERS, "limit")}
    pager = ""
    if listing.get("next_cursor"):
        pager = (f'<a href="{esc(url(f"{base}/events", **kept, cursor=listing["next_cursor"]))}">'
                 f'{esc(tr(lang, "next_page"))}</a>')
    if q.get("cursor"):
        pager = (f'<a href="{esc(url(f"{base}/events", **kept))}">'
                 f'{esc(tr(lang, "first_page"))}</a> ' + pager)
    csv_link = (f'<p><a href="{esc(url(f"{base}/events.csv", **kept))}" download>'
                f'{esc(tr(lang, "csv"))}</a> · <a href="{esc(base)}/consents/new">'
                f'{esc(pages_consents.t(lang, "record_consent"))}</a></p>')
    saved = (f'<p class="ok" role="status">{esc(tr(lang, "reviewed"))}</p>'
             if q.get("reviewed") else "")
    reviews = await pages_reviews.section(request, brand_id, _local, time_left)
    body = (f'<p><a href="{esc(base)}">{esc(brand_id)}</a></p>' + saved + reviews
            + _filter_form(lang, f"{base}/events", q) + error + csv_link
            + (await _chart(request, brand_id) if status == 200 else "")
            + table + (f'<nav aria-label="{esc(tr(lang, "events"))}">{pager}</nav>'
                       if pager else ""))
    return page(request, f'{tr(lang, "events")}: {brand_id}', body, status=status)


@routes.get("/brands/{brand_id}/events.csv")
async def events_csv(request: web.Request) -> web.StreamResponse:
    # the page's link keeps its page size; the export has none, but it is checked all the same
    params.limit(request.query)
    query = {k: v for k, v in api_query(request.query).items() if k != "limit"}
    return await routes_events.export_events(bridge.with_query(request, query))


def _dl(pairs: list[tuple[str, Any]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v if isinstance(v, Html) else esc(v)}</dd>"
                            for k, v in pairs) + "</dl>"


def _pre(value: Any) -> Html:
    import json
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=1)
    return Html(f"<pre>{esc(text)}</pre>")


@routes.get("/brands/{brand_id}/recipients/{recipient}")
async def recipient_page(request: web.Request) -> web.Response:
    lang = request[LANG]
    h = await bridge.call(routes_events.recipient_history, request)
    parts = [f'<p class="noprint"><a href="/ui/brands/{esc(seg(h["brand_id"]))}/events">'
             f'{esc(tr(lang, "events"))}</a> · <button type="button" onclick="window.print()" '
             f'hidden>{esc(tr(lang, "print"))}</button></p>',
             _dl([(tr(lang, "brand"), h["brand_id"]), (tr(lang, "recipient"), h["recipient"]),
                  ("UTC+3", datetime.now(TR_TIME).strftime("%Y-%m-%d %H:%M:%S"))])]
    parts.append(f'<h2>{esc(tr(lang, "messages"))}</h2>')
    for m in h["messages"]:
        parts.append(f'<section class="box" aria-label="{esc(tr(lang, "messages"))} {m["id"]}">'
                     f'<h3>#{esc(m["id"])} · {esc(_local(m["received_at"]))}</h3>')
        parts.append(_dl([(tr(lang, "sender"), m["sender"]),
                          (tr(lang, "to"), m["destination_addr"]),
                          (tr(lang, "link"), m["link"]),
                          (tr(lang, "received"), _local(m["received_at"])),
                          (tr(lang, "completed"), _local(m["completed_at"])),
                          (tr(lang, "decoded"), m["text"]),
                          (tr(lang, "normalized"), m["normalized"]),
                          (tr(lang, "outcome"), m["outcome"]),
                          (tr(lang, "reason"), m["reason"])]))
        for p in m["pdus"]:
            head = (f'{p["command"]} #{p["sequence"]} · {_local(p["received_at"])} · '
                    f'{p["encoding"]} (data_coding {p["data_coding"]})')
            parts.append(_dl([("PDU", head),
                              (tr(lang, "raw"), _pre(p["pdu_base64"])),
                              (tr(lang, "decoded"), p["text"])]))
        parts.append("</section>")
    parts.append(f'<h2>{esc(tr(lang, "events"))}</h2>')
    for e in h["events"]:
        parts.append(f'<section class="box" aria-label="{esc(tr(lang, "events"))} {e["id"]}">'
                     f'<h3>{esc(e["status"])} · {esc(e["type"])} · #{esc(e["id"])}</h3>')
        parts.append(_dl([(tr(lang, "state"), e["state"]),
                          (tr(lang, "received"), _local(e["received_at"])),
                          (tr(lang, "consent_date"), _local(e["consent_date"])),
                          (tr(lang, "deadline"), _local(e["deadline_at"])),
                          (tr(lang, "transaction"), e["iys_transaction_id"] or ""),
                          (tr(lang, "iys_created"), _iys(e["iys_creation_date"])),
                          (tr(lang, "last_error"), " ".join(
                              str(x) for x in (e["last_error_code"], e["last_error"]) if x)),
                          (tr(lang, "created"), _local(e["created_at"])),
                          (tr(lang, "updated"), _local(e["updated_at"]))]
                         + ([(tr(lang, "review_action"), " · ".join((
                             pages_reviews.decision_label(lang, e["review_decision"]),
                             e["reviewed_by"] or "", _local(e["reviewed_at"]))))]
                            if e["review_decision"] else [])))
        if e["iys_attempts"]:
            parts.append(f'<h4>{esc(tr(lang, "attempts"))}</h4>')
        for a in e["iys_attempts"]:
            parts.append(_dl([("#", f'{a["id"]} · {_local(a["started_at"])} · {a["method"]} '
                                    f'{a["path"]} → {a["http_status"]} ({a["outcome"]}) '
                                    f'{a["latency_ms"]} ms'),
                              (tr(lang, "request"), _pre(a["request"])),
                              (tr(lang, "response"), _pre(a["response"]))]))
        parts.append("</section>")
    parts.append(pages_consents.submissions_section(lang, h["submissions"], _local))
    parts.append(await pages_consents.state_section(request, h["brand_id"], h["recipient"]))
    if h["iys_changes"]:
        parts.append(f'<h2>{esc(tr(lang, "iys_changes"))}</h2>')
        for c in h["iys_changes"]:
            parts.append(_dl([(k, _iys(v) if k.endswith("_date") else
                               _local(v) if k.endswith("_at") else v) for k, v in c.items()]))
    return page(request, f'{tr(lang, "evidence")}: {h["recipient"]}', "".join(parts))
