"""HTML building: escaping, the page layout, the two languages.

Every value that comes from data goes through :func:`esc`; :class:`Html` marks text that is
already safe markup, so a page is assembled from escaped pieces only.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

from inbound.web.catalogue import LANGS as LANGS
from inbound.web.catalogue import WORDS, t

T = WORDS  # the catalogue (inbound/web/catalogue.py); kept under its old name


class Html(str):
    """Markup that is already safe."""


def esc(value: Any) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[Any]) -> Html:
    return Html("".join(esc(p) for p in parts))


def tr(lang: str, key: str) -> str:
    """``catalogue.t`` with the language first, as the pages call it."""
    return t(key, lang)


def url(path: str, **query: Any) -> str:
    items = {k: v for k, v in query.items() if v not in (None, "")}
    return path + ("?" + urlencode(items) if items else "")


def seg(value: str) -> str:
    return quote(value, safe="")


STYLE = """
:root{--fg:#1b1b1b;--bg:#fff;--muted:#4a4a4a;--accent:#0b4f9c;--err:#a4001d;--ok:#1a5e20;
--line:#c8c8c8}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #ffbf47;
outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:#0b3a6e;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;
gap:.5rem 1rem;align-items:center}
header a,header button{color:#fff}
header nav{display:flex;gap:1rem;flex-wrap:wrap;flex:1}
header form{margin:0}
header button{background:none;border:1px solid #fff;border-radius:4px;padding:.2rem .6rem;
font:inherit;cursor:pointer}
main{padding:1rem;max-width:70rem;margin:0 auto}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2rem}
label{display:block;font-weight:600;margin-top:.75rem}
.hint{font-weight:400;color:var(--muted);font-size:.9rem}
input,select,textarea{font:inherit;padding:.35rem;border:1px solid #6b6b6b;border-radius:4px;
max-width:100%}
input[type=text],input[type=email],input[type=password],textarea{width:100%}
textarea{min-height:4.5rem}
form.inline{display:inline;margin:0}
fieldset.plain{border:0;padding:0;margin:0;min-width:0}
.box>h2:first-child{margin-top:0}
button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent);
border-radius:4px;padding:.5rem 1rem;font:inherit;margin-top:1rem;cursor:pointer}
button.primary{background:var(--accent);color:#fff;border:0;border-radius:4px;
padding:.5rem 1rem;font:inherit;margin-top:1rem;cursor:pointer}
.err{color:var(--err);font-weight:600}.ok{color:var(--ok);font-weight:600}
.box{border:1px solid var(--line);border-radius:6px;padding:1rem;margin:1rem 0}
.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
.filters label{margin-top:0}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;
vertical-align:top}
th{background:#f1f1f1}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.5rem;
font-size:.85rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}
dd{margin:0;word-break:break-word}
svg text{font-size:11px;fill:#1b1b1b}
td{overflow-wrap:anywhere}td.n{text-align:right}
.id{display:inline-block;max-width:9ch;overflow:hidden;text-overflow:ellipsis;
white-space:nowrap;vertical-align:bottom}
tr.urgent td{color:var(--err);font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:0 1rem}
header nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}
.sticky-save{position:sticky;bottom:0;background:var(--bg);padding:.25rem 0 .75rem;
border-top:1px solid var(--line);z-index:1}
label.check{display:inline-block;font-weight:400;margin-right:1rem}
.summary{font-weight:600}
@media (max-width:40rem){main{padding:.5rem}dl{grid-template-columns:1fr}
header{padding:.5rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
table.cards thead{position:absolute;left:-9999px}
table.cards tr{border-bottom:2px solid var(--line);padding:.25rem 0}
table.cards td{border:0;padding:.1rem 0}
table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:600}
.id{max-width:100%}input,select,textarea{width:100%}}
@media print{header,.noprint,form,.skip{display:none}main{max-width:none;padding:0}
body{font-size:11pt}.box{break-inside:avoid;border-color:#888}a{color:inherit}
.id{max-width:none;white-space:normal}}
"""


def table(heads: Iterable[str], rows: Iterable[Iterable[Any]], caption: str, *,
          classes: Iterable[str] = ()) -> Html:
    """A table that fits: at 1280 px as it is, on a phone each row a card whose cells carry
    their column's name (``data-label``), so nothing scrolls sideways. Cells are escaped
    unless they are :class:`Html`."""
    names = [str(h) for h in heads]
    marks = list(classes)
    body = "".join(
        (f'<tr class="{esc(marks[i])}">' if i < len(marks) and marks[i] else "<tr>")
        + "".join(f'<td data-label="{esc(n)}">{esc(c)}</td>'
                  for n, c in zip(names, cells, strict=False)) + "</tr>"
        for i, cells in enumerate(rows))
    return Html(f'<div class="table"><table class="cards"><caption class="hint">{esc(caption)}'
                "</caption><thead><tr>" + "".join(f'<th scope="col">{esc(n)}</th>'
                                                 for n in names)
                + f"</tr></thead><tbody>{body}</tbody></table></div>")



# The main menu: (catalogue key, path, the least role that sees it). Another page section
# adds its entry with one line: ``html.NAV.append(("mirror.title", "/ui/mirror", "viewer"))``.
NAV: list[tuple[str, str, str]] = [
    ("overview", "/ui/overview", "viewer"),
    ("brands", "/ui/brands", "viewer"),
    ("nav.imports", "/ui/imports", "agent"),     # uploads consents: an agent's work
    ("nav.mirror", "/ui/mirror", "viewer"),
    ("users", "/ui/users", "admin"),
    ("tokens", "/ui/tokens", "admin"),
    ("webhooks", "/ui/webhooks", "admin"),
    ("account", "/ui/account", "viewer"),
]
RANKS = {"viewer": 0, "agent": 1, "admin": 2}


def current_entry(path: str, hrefs: list[str]) -> str | None:
    """The menu entry a page belongs to: the feature its path names after the brand
    (``/ui/brands/acme/imports/7`` → ``/ui/imports``), else the longest entry the path starts
    with (``/ui/brands/acme`` → ``/ui/brands``)."""
    path = path.split("?")[0].rstrip("/")
    parts = path.split("/")            # ['', 'ui', 'brands', 'acme', 'imports', '7']
    # a brand's id is the owner's word: 'users' as a brand id must not light up Users
    tail = parts[4:] if parts[2:3] == ["brands"] else parts[3:]
    for href in hrefs:
        if href.rsplit("/", 1)[1] in tail:
            return href
    under = [h for h in hrefs if path == h or path.startswith(h + "/")]
    return max(under, key=len, default=None)


def nav_links(lang: str, path: str, role: str) -> Html:
    links = []
    visible = [(key, href) for key, href, least in NAV
               if RANKS.get(role, 0) >= RANKS.get(least, 2)]
    here_href = current_entry(path, [href for _, href in visible])
    for key, href in visible:
        here = ' aria-current="page"' if href == here_href else ""
        links.append(f'<a href="{esc(href)}"{here}>{esc(tr(lang, key))}</a>')
    return Html("".join(links))


def layout(lang: str, title: str, body: Html, *, csrf: str | None = None,
           owner: str | None = None, path: str = "/ui/", role: str = "viewer") -> str:
    other = "en" if lang == "tr" else "tr"
    nav = Html("")
    if owner is not None:
        nav = Html(
            f'<nav aria-label="{esc(tr(lang, "menu"))}">{nav_links(lang, path, role)}</nav>'
            f'<span class="who">{esc(owner)}</span>'
            f'<form method="post" action="/ui/logout"><input type="hidden" name="csrf" '
            f'value="{esc(csrf)}"><button type="submit">{esc(tr(lang, "signout"))}</button>'
            "</form>")
    switch = url("/ui/lang", to=other, next=path)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · {esc(tr(lang, 'title'))}</title>"
        f"<style>{STYLE}</style></head><body>"
        f'<a class="skip" href="#main">{esc(tr(lang, "skip"))}</a>'
        f'<header><strong>{esc(tr(lang, "title"))}</strong>{nav}'
        f'<a href="{esc(switch)}" lang="{other}">{esc(tr(lang, "language"))}</a></header>'
        f'<main id="main" tabindex="-1"><h1>{esc(title)}</h1>{body}</main>'
        '<script src="/ui/static/app.js" defer></script></body></html>'
    )
