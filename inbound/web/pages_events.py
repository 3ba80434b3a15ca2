"""A brand's events (filters, pages, deadline of pending RETs, CSV, chart per day) and one
recipient's history printable as evidence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from inbound.api import params, routes_events
from inbound.api.problems import Problem
from inbound.api.state import POOL
from inbound.web import bridge, formats, pages_consents, pages_reviews, queries
from inbound.web.catalogue import code, say
from inbound.web.html import Html, esc, seg, table, tr, url
from inbound.web.pages_brands import page
from inbound.web.state import LANG
from iys_push.timefmt import show_tr

routes = web.RouteTableDef()

TR_TIME = formats.TR_TIME
FILTERS = ("recipient", "status", "state", "type", "since", "until")
CHART_DAYS = 30
COLOURS = {"RET": "#a4001d", "ONAY": "#1a5e20"}


def _local(value: str | None) -> str:
    return formats.show_time(value)


def _iys(value: str | None) -> str:
    """An İYS timestamp (the API gives it in Turkey time) with its zone named."""
    return show_tr(datetime.fromisoformat(value)) if value else ""


def _day(query: Any, name: str) -> date | None:
    """A filter's day: GG.AA.YYYY as typed (YYYY-MM-DD from older links)."""
    return formats.parse_day(query.get(name), name)


def api_query(query: Any) -> dict[str, str]:
    """The page's filter (dates in Turkish time, ``until`` inclusive) as the API's query."""
    out = {k: query[k].strip() for k in ("status", "state", "type", "cursor", "limit")
           if query.get(k, "").strip()}
    recipient = formats.phone_filter(query.get("recipient"))
    if recipient:
        out["recipient"] = recipient
    since, until = _day(query, "since"), _day(query, "until")
    if since:
        out["since"] = datetime.combine(since, datetime.min.time(), TR_TIME).isoformat()
    if until:
        out["until"] = datetime.combine(until + timedelta(days=1), datetime.min.time(),
                                        TR_TIME).isoformat()
    return out


def state_word(lang: str, state: str, decision: str | None = None) -> Html:
    """A state as a word (with the review decision that led to it, e.g. "pending ·
    automatic RET"), its explanation on hover."""
    word = code("state", state, lang)
    if decision:
        word = f"{word} · {pages_reviews.decision_label(lang, decision)}"
    help_text = state_help(lang, state)
    return Html(f'<abbr title="{esc(help_text)}">{esc(word)}</abbr>' if help_text
                else esc(word))


def state_help(lang: str, state: str) -> str:
    found = tr(lang, f"help.{state}")
    return "" if found == f"help.{state}" else found


def short_id(value: str | None, keep: int = 8) -> Html:
    """A long id (İYS's 64-character transaction id) shortened, the whole in its title and
    in the text a copy takes (CSS cuts it with an ellipsis; the text itself is whole)."""
    if not value:
        return Html("")
    if len(value) <= keep + 2:
        return esc(value)
    return Html(f'<span class="id" title="{esc(value)}">{esc(value)}</span>')


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
        f'<option value="{esc(o)}"{" selected" if o == current else ""}>'
        f'{esc(code(name, o, lang))}</option>' for o in options)
    return (f'<div><label for="q-{name}">{esc(label)}</label>'
            f'<select id="q-{name}" name="{name}">{opts}</select></div>')


def _filter_form(lang: str, action: str, q: Any) -> str:
    def text(name: str, hint: str, pattern: str = "") -> str:
        value = formats.day_field(q.get(name)) if pattern else q.get(name, "")
        check = (f' pattern="{esc(pattern)}" inputmode="numeric" placeholder="{esc(hint)}"'
                 if pattern else f' inputmode="tel" placeholder="{esc(hint)}"')
        return (f'<div><label for="q-{name}">{esc(tr(lang, name))} <span class="hint">'
                f'({esc(hint)})</span></label><input id="q-{name}" name="{name}" type="text"'
                f'{check} value="{esc(value)}" size="12"></div>')

    day = tr(lang, "date_hint")

    return (f'<form method="get" action="{esc(action)}" class="filters box" role="search">'
            + text("recipient", tr(lang, "phone_hint"))
            + _select(lang, "status", tr(lang, "status"), routes_events.STATUSES,
                      q.get("status", ""))
            + _select(lang, "state", tr(lang, "state"), routes_events.STATES, q.get("state", ""))
            + _select(lang, "type", tr(lang, "type"), routes_events.TYPES, q.get("type", ""))
            + text("since", day, formats.DAY_PATTERN)
            + text("until", day, formats.DAY_PATTERN)
            + f'<div><button class="primary" type="submit">{esc(tr(lang, "filter"))}</button>'
            "</div></form>")


def chart(lang: str, rows: list[Any], first: date, last: date, *, title: str = "") -> str:
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
                              f"<title>{formats.show_day(d)} {status}: {n}</title></rect>")
    summary = ", ".join(f"{formats.show_day(d)} " + " ".join(
        f"{s} {counts[(d, s)]}" for s in COLOURS if counts.get((d, s)))
        for d in days if any(counts.get((d, s)) for s in COLOURS)) or tr(lang, "no_events")
    legend = " ".join(f'<span style="color:{c}">■ {s}</span>' for s, c in COLOURS.items())
    title = f"{title or tr(lang, 'chart')} {formats.show_day(first)} – {formats.show_day(last)}"
    return (f'<figure class="box"><svg role="img" aria-labelledby="chart-t chart-d" '
            f'viewBox="0 0 {width} {height}" width="100%" height="{height}" '
            f'preserveAspectRatio="xMinYMin meet"><title id="chart-t">{esc(title)}</title>'
            f'<desc id="chart-d">{esc(summary)}</desc>'
            f'<line x1="{pad}" y1="{height - 20}" x2="{width - 10}" y2="{height - 20}" '
            f'stroke="#1b1b1b"/><text x="2" y="20">{top}</text><text x="2" y="{height - 22}">0'
            f'</text><text x="{pad}" y="{height - 5}">{formats.show_day(first)}</text>'
            f'<text x="{width - 80}" y="{height - 5}">{formats.show_day(last)}</text>'
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
        error = f'<p class="err" role="alert">{esc(say(problem.detail, lang))}</p>'
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    for e in listing["items"]:
        deadline = esc(_local(e["deadline_at"]))
        if e["state"] == "pending" and e["status"] == "RET" and e["deadline_at"]:
            left = time_left(lang, e["deadline_at"], now)
            deadline = Html(f"{deadline} <strong>({esc(left)})</strong>")
        who = f'{base}/recipients/{seg(e["recipient"])}'
        rows.append((e["id"], _local(e["received_at"]),
                     Html(f'<a href="{esc(who)}">{esc(e["recipient"])}</a>'), e["status"],
                     e["type"], code("source", e["source"], lang),
                     state_word(lang, e["state"], e["review_decision"]), deadline,
                     short_id(e["iys_transaction_id"])))
    heads = ("ID", tr(lang, "received"), tr(lang, "recipient"), tr(lang, "status"),
             tr(lang, "type"), pages_consents.t(lang, "source"), tr(lang, "state"),
             tr(lang, "deadline"), tr(lang, "transaction"))
    events_table = (table(heads, rows, tr(lang, "events")) if rows
                    else f'<p>{esc(tr(lang, "no_events"))}</p>')
    kept = {k: q.get(k, "") for k in (*FILTERS, "limit")}
    pager = ""
    if listing.get("next_cursor"):
        pager = (f'<a href="{esc(url(f"{base}/events", **kept, cursor=listing["next_cursor"]))}">'
                 f'{esc(tr(lang, "next_page"))}</a>')
    if q.get("cursor"):
        pager = (f'<a href="{esc(url(f"{base}/events", **kept))}">'
                 f'{esc(tr(lang, "first_page"))}</a> ' + pager)
    csv_link = (f'<p><a href="{esc(url(f"{base}/events.csv", **kept))}" download>'
                f'{esc(tr(lang, "csv_excel"))}</a> · <a href="{esc(base)}/consents/new">'
                f'{esc(pages_consents.t(lang, "record_consent"))}</a></p>')
    saved = (f'<p class="ok" role="status">{esc(tr(lang, "reviewed"))}</p>'
             if q.get("reviewed") else "")
    reviews = await pages_reviews.section(request, brand_id, _local, time_left)
    body = (f'<p><a href="{esc(base)}">{esc(brand_id)}</a></p>' + saved + reviews
            + _filter_form(lang, f"{base}/events", q) + error + csv_link
            + (await _chart(request, brand_id) if status == 200 else "")
            + events_table + (f'<nav aria-label="{esc(tr(lang, "events"))}">{pager}</nav>'
                       if pager else ""))
    return page(request, f'{tr(lang, "events")}: {brand_id}', body, status=status)


@routes.get("/brands/{brand_id}/events.csv")
async def events_csv(request: web.Request) -> web.StreamResponse:
    # the page's link keeps its page size; the export has none, but it is checked all the same
    params.limit(request.query)
    query = {k: v for k, v in api_query(request.query).items() if k != "limit"}
    # for Excel (issue #33): BOM, Turkey time, and ';' where Excel is Turkish
    query.update({"format": "excel",
                  "sep": "semicolon" if request[LANG] == "tr" else "comma"})
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
             f'{esc(tr(lang, "events"))}</a> · <button type="button" class="secondary" '
             f'data-print hidden>{esc(tr(lang, "print"))}</button></p>',
             _dl([(tr(lang, "brand"), h["brand_id"]), (tr(lang, "recipient"), h["recipient"]),
                  (tr(lang, "printed_at"), formats.show_time(datetime.now(TR_TIME))
                   + " (UTC+3)")])]
    parts.append(f'<h2>{esc(tr(lang, "messages"))}</h2>')
    for m in h["messages"]:
        parts.append(f'<section class="box" aria-label="{esc(tr(lang, "messages"))} {m["id"]}">'
                     f'<h3>#{esc(m["id"])} · {esc(_local(m["received_at"]))}</h3>')
        parts.append(_dl([(tr(lang, "message_sender"), m["sender"]),
                          (tr(lang, "message_to"), m["destination_addr"]),
                          (tr(lang, "link"), m["link"]),
                          (tr(lang, "received"), _local(m["received_at"])),
                          (tr(lang, "completed"), _local(m["completed_at"])),
                          (tr(lang, "decoded"), m["text"]),
                          (tr(lang, "normalized"), m["normalized"]),
                          (tr(lang, "outcome"), code("outcome", m["outcome"], lang)),
                          (tr(lang, "reason"), say(m["reason"], lang))]))
        for p in m["pdus"]:
            # data_coding is SMPP's field name: a code, the same in both languages
            head = Html(esc(f'{p["command"]} #{p["sequence"]} · {_local(p["received_at"])} · '
                            f'{p["encoding"]} ') + f'(<code>data_coding</code> '
                        f'{esc(p["data_coding"])})')
            parts.append(_dl([("PDU", head),
                              (tr(lang, "raw"), _pre(p["pdu_base64"])),
                              (tr(lang, "decoded"), p["text"])]))
        parts.append("</section>")
    parts.append(f'<h2>{esc(tr(lang, "events"))}</h2>')
    for e in h["events"]:
        parts.append(f'<section class="box" aria-label="{esc(tr(lang, "events"))} {e["id"]}">'
                     f'<h3>{esc(e["status"])} · {esc(e["type"])} · #{esc(e["id"])}</h3>')
        parts.append(_dl([(tr(lang, "state"), Html(f'{esc(code("state", e["state"], lang))} '
                                                   f'<span class="hint">'
                                                   f'{esc(state_help(lang, e["state"]))}</span>')),
                          (pages_consents.t(lang, "source"), code("source", e["source"], lang)),
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
            call = Html(f'{esc(a["id"])} · {esc(_local(a["started_at"]))} · <code>'
                        f'{esc(a["method"])} {esc(a["path"])}</code> → '
                        f'{esc(a["http_status"] or "—")} '
                        f'({esc(code("attempt", a["outcome"], lang))}) {esc(a["latency_ms"])} ms')
            parts.append(_dl([("#", call),
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
