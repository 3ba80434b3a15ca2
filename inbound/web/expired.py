"""Edits kept when a form's CSRF token no longer matches (issue #33).

A signed-in person whose form carries an old token (signed out and in again in another
tab, or the session renewed) gets the same form back, filled with what they typed and the
session's current token, and a notice to save again; nothing is saved. Only the forms
where typing is work are kept: the brand's settings and a consent being recorded.
"""

from __future__ import annotations

import re

from aiohttp import web

from inbound.web import pages_brands, pages_consents

_BRAND = re.compile(r"/ui/brands/([^/]+)")
_CONSENT = re.compile(r"/ui/brands/([^/]+)/consents")


async def form_kept(request: web.Request) -> web.Response | None:
    """The form again with the posted values (status 403), or None for other forms."""
    if request.method != "POST":
        return None
    if _BRAND.fullmatch(request.path):
        return await pages_brands.kept_form(request)
    if _CONSENT.fullmatch(request.path):
        return await pages_consents.kept_form(request)
    return None
