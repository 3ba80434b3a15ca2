"""Brand-wide consent links (issue #30 item 4): the page asks for the number, sends a
6-digit code by SMS (``inbound.link_otp``) and records once the code is entered. Without a
configured sending link (``links.otp_link``) the page says plainly that it cannot be used."""

from __future__ import annotations

import re
from types import ModuleType

from aiohttp import web

from inbound import consent_links, link_confirm, link_otp, link_settings
from inbound.link_confirm import Link
from inbound.web.html import esc
from inbound.web.link_words import word
from smpp_bind.addresses import mask_msisdn

routes = web.RouteTableDef()
OTP_ID = re.compile(r"[0-9]{1,18}")
CODE = re.compile(r"[0-9]{6}")


def _pages() -> ModuleType:
    """The page helpers, beside the personal link's page (imported late: it imports us)."""
    from inbound.web import pages_links

    return pages_links


def unavailable(request: web.Request, link: Link) -> web.Response:
    p = _pages()
    lang = p.lang_of(request)
    return p.page(request, word(lang, "title"),
                  f'<p class="brand">{esc(link.brand_name)}</p>'
                  f'<p class="err" role="alert">{esc(word(lang, "otp_unavailable"))}</p>',
                  status=503)


def number_page(request: web.Request, link: Link, *, notice: str | None = None,
                phone: str = "") -> web.Response:
    p = _pages()
    lang = p.lang_of(request)
    if not link_settings.of(request).otp_outbox:
        return unavailable(request, link)
    token = link_confirm.page_token(request.config_dict[p.SECRET], link.id)
    alert = f'<p class="err" role="alert" id="phone-err">{esc(notice)}</p>' if notice else ""
    invalid = ' aria-invalid="true" aria-describedby="phone-hint phone-err"' if notice else \
        ' aria-describedby="phone-hint"'
    body = (f'<p class="brand">{esc(link.brand_name)}</p>'
            f"<p>{esc(p.lead(lang, link))}</p>{alert}"
            f'<form method="post">{p.hidden("token", token)}{p.hidden("lang", lang)}'
            f'<label for="phone">{esc(word(lang, "phone_label"))}</label>'
            f'<p class="hint" id="phone-hint">{esc(word(lang, "phone_hint"))}</p>'
            f'<input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" '
            f'required maxlength="25" value="{esc(phone)}"{invalid}>'
            f'<button class="main" type="submit">{esc(word(lang, "send_code"))}</button></form>'
            f'<p class="small">{esc(word(lang, "nothing_yet"))}</p>{p.privacy(request, link)}')
    return p.page(request, word(lang, "title"), body)


def code_page(request: web.Request, link: Link, otp_id: int, recipient: str, *,
              notice: str | None = None) -> web.Response:
    p = _pages()
    lang = p.lang_of(request)
    token = link_confirm.page_token(request.config_dict[p.SECRET], link.id)
    alert = f'<p class="err" role="alert" id="code-err">{esc(notice)}</p>' if notice else ""
    described = "code-hint code-err" if notice else "code-hint"
    invalid = ' aria-invalid="true"' if notice else ""
    hint = word(lang, "code_hint", number=mask_msisdn(recipient))
    code = request.match_info["code"]
    body = (f'<p class="brand">{esc(link.brand_name)}</p>'
            f"<p>{esc(p.lead(lang, link))}</p>{alert}"
            f'<form method="post" action="{esc(code)}/verify">'
            f'{p.hidden("token", token)}{p.hidden("lang", lang)}{p.hidden("otp", str(otp_id))}'
            f'<label for="otp-code">{esc(word(lang, "code_label"))}</label>'
            f'<p class="hint" id="code-hint">{esc(hint)}</p>'
            f'<input id="otp-code" name="code" inputmode="numeric" pattern="[0-9]{{6}}" '
            f'maxlength="6" autocomplete="one-time-code" required '
            f'aria-describedby="{described}"{invalid}>'
            f"{p.buttons(lang, link.action)}</form>{p.privacy(request, link)}")
    return p.page(request, word(lang, "title"), body)


def _tap(request: web.Request, link: Link, form: dict[str, str], status: str
         ) -> link_confirm.Tap | None:
    p = _pages()
    opened = link_confirm.opened_at(request.config_dict[p.SECRET], link.id, form.get("token"))
    if opened is None:
        return None
    return link_confirm.Tap(status, "", opened, p.client_address(request),
                            request.headers.get("User-Agent", ""))


async def ask_code(request: web.Request, link: Link) -> web.Response:
    """The number form's POST: send a code, show the code form."""
    p = _pages()
    lang = p.lang_of(request)
    settings = link_settings.of(request)
    if not settings.otp_outbox:
        return unavailable(request, link)
    form = await p._form(request)
    if _tap(request, link, form, "RET") is None:
        return number_page(request, link, notice=word(lang, "expired_form"))
    phone = form.get("phone", "")[:25]
    recipient = consent_links.normalise_mobile(phone)
    if recipient is None:
        return number_page(request, link, notice=word(lang, "bad_phone"), phone=phone)
    try:
        otp_id = await link_otp.send_code(
            request.config_dict[p.POOL], settings, request.config_dict[p.SECRET], link,
            recipient, p.client_address(request),
            word("tr", "otp_sms", brand=link.brand_name, code="{code}"))
    except link_otp.Limited:
        response = number_page(request, link, notice=word(lang, "otp_limited"))
        response.set_status(429)
        return response
    return code_page(request, link, otp_id, recipient)


@routes.post("/{code}/verify")
async def verify(request: web.Request) -> web.StreamResponse:
    p = _pages()
    lang = p.lang_of(request)
    pool = request.config_dict[p.POOL]
    link = await link_confirm.lookup(pool, p._code(request))
    if link is None or not link.usable or link.recipient is not None:
        return await p._miss(request)
    form = await p._form(request)
    status = form.get("status", "RET" if link.action == "RET" else "ONAY")
    allowed = ("RET", "ONAY") if link.action == "choice" else (link.action,)
    tap = _tap(request, link, form, status)
    otp = form.get("otp", "")
    if tap is None or status not in allowed or not OTP_ID.fullmatch(otp):
        return number_page(request, link, notice=word(lang, "expired_form"))
    code = form.get("code", "").strip()
    if not CODE.fullmatch(code):
        code = "x"   # checked like any wrong code: it spends a try
    outcome = await link_otp.verify(pool, request.config_dict[p.SECRET], link, int(otp),
                                    code, tap)
    if outcome.kind == "recorded" and outcome.result is not None:
        return p.result_page(request, link, outcome.result, first=outcome.first)
    if outcome.kind == "wrong":
        return code_page(request, link, int(otp), outcome.recipient,
                         notice=word(lang, "bad_code", left=str(outcome.left)))
    return number_page(request, link, notice=word(lang, "code_spent"))
