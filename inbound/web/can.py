"""Whether the signed-in person may press a button (issue #33): a page shows a save or submit
button only to those whose role the POST behind it allows (``inbound/roles.py``, the table the
middleware enforces), so a viewer never meets a button that answers 403."""

from __future__ import annotations

from aiohttp import web

from inbound import roles
from inbound.web.state import SESSION


def may(request: web.Request, path: str, method: str = "POST") -> bool:
    """``path`` as the middleware sees it: without the ``/ui`` prefix."""
    session = request.get(SESSION)
    return session is not None and roles.allows(session.role, roles.needed_for(method, path))


def submit_or_note(request: web.Request, path: str, button: str) -> str:
    """The form's submit ``button`` (markup) when the role allows its POST, else a note."""
    if may(request, path):
        return button
    from inbound.web.catalogue import t
    from inbound.web.html import esc
    from inbound.web.state import LANG

    return f'<p class="hint" data-read-only>{esc(t("can.read_only", request[LANG]))}</p>'


def fields(request: web.Request, path: str, inner: str) -> str:
    """A form's fields (markup) as they are when the role allows the POST to ``path``, else
    inside a disabled fieldset: a viewer reads the values but cannot type in them."""
    if may(request, path):
        return inner
    return f'<fieldset disabled class="plain">{inner}</fieldset>'
