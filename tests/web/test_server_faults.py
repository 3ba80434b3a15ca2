"""A real server fault (issue #25): one log event with a request id, and a 500 that is the
API's problem+json or the page's own error page with its security headers, never aiohttp's
plain text."""

from __future__ import annotations

import pytest
import structlog
from aiohttp.test_utils import TestClient

from inbound.api import changes
from tests.api.conftest import ADMIN_TOKEN
from tests.web.conftest import Site, sign_in


async def _broken(*_: object) -> None:
    raise RuntimeError("the configuration could not be read")


async def test_a_fault_is_one_logged_event_and_a_500_with_its_request_id(
        client: TestClient, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    assert (await sign_in(client))[0] == 200
    monkeypatch.setattr(changes, "load", _broken)
    with structlog.testing.capture_logs() as logs:
        api = await client.get("/api/v1/brands", headers={
            "Authorization": f"Bearer {ADMIN_TOKEN}", "X-Request-Id": "req-from-proxy-1"})
        page = await client.get("/ui/brands")
    assert api.status == 500 and api.content_type == "application/problem+json"
    assert api.headers["X-Request-Id"] == "req-from-proxy-1"
    assert "req-from-proxy-1" in (await api.json())["detail"]
    assert "RuntimeError" not in await api.text()  # the trace goes to the log only
    assert page.status == 500 and page.content_type == "text/html"
    assert "Content-Security-Policy" in page.headers
    page_id = page.headers["X-Request-Id"]
    assert page_id in await page.text()
    faults = [e for e in logs if e["log_level"] == "error"]
    assert [(e["event"], e["request_id"]) for e in faults] == [
        ("api request failed", "req-from-proxy-1"), ("web request failed", page_id)]
    assert all(e.get("exc_info") for e in faults)
