"""Calling the brand-owner API's own handlers from the web page.

The web page does not re-implement a query, a check or a scoping rule: each page calls the
``/api/v1`` handler that answers the same question, as the signed-in owner (``CALLER``), and
renders its JSON. A handler that reads a JSON body gets the form's data as one through
:class:`_JsonRequest`; one that reads the query string gets a clone of the request with the
query the API expects. The API's errors arrive as :class:`inbound.api.problems.Problem`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

Handler = Callable[[Any], Awaitable[web.StreamResponse]]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    async def iter_chunked(self, _size: int) -> AsyncIterator[bytes]:
        yield self._data


class _JsonRequest:
    """The request as the API handler reads it: same app, caller, path and query; the body
    is the given JSON document."""

    content_type = "application/json"

    def __init__(self, request: web.Request, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._request = request
        self.content = _Body(data)
        self.content_length = len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    def __getitem__(self, key: Any) -> Any:
        return self._request[key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._request.get(key, default)


def with_query(request: web.Request, query: dict[str, str] | None) -> web.Request:
    if query is None:
        return request
    return request.clone(rel_url=request.rel_url.with_query(query))


async def call(handler: Handler, request: web.Request, *, query: dict[str, str] | None = None,
               body: Any = None) -> Any:
    """The decoded JSON answer of an API handler (None for 204)."""
    target: Any = with_query(request, query)
    if body is not None:
        target = _JsonRequest(target, body)
    response = await handler(target)
    assert isinstance(response, web.Response)
    if response.status == 204 or response.body is None:
        return None
    return json.loads(response.text or "null")
