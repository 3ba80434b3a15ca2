"""Errors as RFC 9457 ``application/problem+json``: a title, the status, and what to fix.

Handlers raise :class:`Problem`; the middleware turns it (and aiohttp's own 404/405/413
answers) into a problem document, so every error of the API has the same shape.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

PROBLEM_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal server error",
}


class Problem(Exception):
    """An error answer. ``errors`` lists ``{"field", "reason"}`` (or conflicts) for the caller."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.errors = errors or []
        self.headers = headers or {}

    def response(self) -> web.Response:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title,
                                "status": self.status, "detail": self.detail}
        if self.errors:
            body["errors"] = self.errors
        return web.Response(status=self.status, headers=self.headers, content_type=PROBLEM_TYPE,
                            text=json.dumps(body, ensure_ascii=False))


REQUEST_ID: web.RequestKey[str] = web.RequestKey("iys_request_id", str)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(request: web.Request) -> str:
    """This request's id: the proxy's ``X-Request-Id`` when it is a plain token, else a new
    one. Logged with a server fault and given to the caller, to find one in the other."""
    rid = request.get(REQUEST_ID)
    if rid is None:
        given = request.headers.get("X-Request-Id", "")
        rid = given if _GIVEN_ID.fullmatch(given) else secrets.token_hex(8)
        request[REQUEST_ID] = rid
    return rid


def server_fault(request: web.Request, what: str) -> str:
    """Log the exception being handled as one event (its traceback a field of it, never a
    multi-line text); returns the request id the answer gives."""
    rid = request_id(request)
    log.exception(what, method=request.method, path=request.path, request_id=rid)
    return rid


def invalid(field: str, reason: str) -> Problem:
    """422 for one field, the most common error."""
    return Problem(422, f"{field}: {reason}", errors=[{"field": field, "reason": reason}])


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found")


# set on a request once a streamed answer has started: an error can no longer be answered
# with a problem document, only by cutting the stream (the client sees it incomplete)
STREAMING: web.RequestKey[bool] = web.RequestKey("iys_api_streaming", bool)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Problem as problem:
        return problem.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return Problem(413, "the request body is larger than this endpoint accepts").response()
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return Problem(exc.status, exc.reason or _TITLES.get(exc.status, "Error"),
                       headers=headers).response()
    except Exception:
        if request.get(STREAMING):
            server_fault(request, "api stream aborted")
            raise
        # the stack trace goes to the log, never to the caller
        rid = server_fault(request, "api request failed")
        problem = Problem(500, f"an unexpected error occurred; it has been logged as request "
                          f"{rid}", headers={"X-Request-Id": rid})
        return problem.response()
