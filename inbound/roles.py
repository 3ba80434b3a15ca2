"""Roles (issue #33): what a person or a token may do for its owner.

* ``viewer`` reads everything of its owner's brands;
* ``agent`` also records consents and confirms or dismisses review items;
* ``admin`` does everything for its owner: words, replies, tokens, users, webhooks.

The operator's admin token is above all three. One table decides, for the API and for the
page alike, which role a write needs (:func:`needed_for`); a write nobody listed needs
``admin``, so a new route is closed until someone opens it.
"""

from __future__ import annotations

import re

ROLES = ("viewer", "agent", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}

# (method, path pattern) -> the least role; paths relative to /api/v1 or /ui
_WRITES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/explain"), "viewer"),            # reads: tries a text
    ("POST", re.compile(r"/logout"), "viewer"),
    ("POST", re.compile(r"/account/password"), "viewer"),   # one's own password
    ("POST", re.compile(r"/brands/[^/]+/consents"), "agent"),
    ("POST", re.compile(r"/brands/[^/]+/reviews/[^/]+/(confirm|dismiss)"), "agent"),
    # a bulk upload records consents as the form does (and its cancel stops only its own)
    ("POST", re.compile(r"/brands/[^/]+/imports(/[^/]+/cancel)?"), "agent"),
)


def needed_for(method: str, path: str) -> str:
    """The least role for ``method`` on ``path`` (without the /api/v1 or /ui prefix)."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return "viewer"
    for verb, pattern, role in _WRITES:
        if verb == method and pattern.fullmatch(path):
            return role
    return "admin"


def allows(role: str | None, needed: str) -> bool:
    return RANK.get(role or "", -1) >= RANK[needed]
