"""The OpenAPI document is true: it lists exactly the routes the app serves, and answers to
generated requests (schemathesis, every check it has) are never server errors and always
match it: what it calls valid is accepted, what it calls invalid is refused."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from inbound.api import PREFIX, create_api
from inbound.api.openapi import document
from tests.api.conftest import World, add_message
from tests.near_miss import add_review

# None: every check schemathesis has (server errors, status codes, content types, response
# schemas, schema-valid data accepted, schema-invalid data refused, headers, methods …)
CHECKS = None
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
EXAMPLES = 15  # per operation and mode; the whole run stays well under a minute


async def test_openapi_document_is_served_without_a_token(world: World) -> None:
    response = await world.client.get("/api/v1/openapi.json")
    assert response.status == 200
    body = await response.json()
    assert body["openapi"] == "3.1.0"
    assert body == document()


def test_document_lists_exactly_the_routes_the_app_serves(pool: Any = None) -> None:
    api = create_api(pool=None, admin_token=None)  # type: ignore[arg-type]
    served = {(route.method, route.resource.canonical)  # type: ignore[union-attr]
              for route in api.router.routes() if route.method in METHODS}
    documented = {(method.upper(), path) for path, item in document()["paths"].items()
                  for method in item if method.upper() in METHODS}
    assert served == documented


CONSENTS = "/brands/{brand_id}/consents"
PHONE_TYPES = ("MESAJ", "ARAMA")


def within_the_clock_and_numbering_plan(case: Any) -> None:
    """What the document cannot say as a schema, made true of a generated valid request to the
    consents operations (issue #28): a consent date within İYS's window around now (not in the
    future, not older than three business days: it moves with the clock), a recipient that
    exists in the numbering plan or is an e-mail address İYS takes, and HS_KARAR only with RET
    (a first HS_KARAR of a key is a 409, which schemathesis allows). Everything else the
    generator chose stays, and every other refusal would still fail the check."""
    if "/links" in case.operation.path:   # issue #30
        from tests.links.contract import make_valid

        make_valid(case)
        return
    if case.operation.path != CONSENTS:
        return
    if case.method.upper() == "GET":
        case.query = {**(case.query or {}), "recipient": "+905321234567"}
        return
    body = case.body
    items = body.get("consents", []) if isinstance(body, dict) and "consents" in body \
        else [body]
    given = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        types = item.get("type")
        email = types == "EPOSTA" or (isinstance(types, list) and "EPOSTA" in types)
        item["recipient"] = f"kisi{i}@ornek.com.tr" if email else f"+90532{i:07d}"
        item["consent_date"] = given
        if item.get("source") == "HS_KARAR":
            item["status"] = "RET"


WEBHOOKS = "/webhooks"


def within_the_webhook_rules(case: Any) -> None:
    """A generated valid endpoint (issue #32): an https URL on a public name (the document
    cannot say "not private"), no brand filter (it cannot say "the owner's brands") and owner
    1 (owner A, whose token also runs; the operator must name an owner); the same owner for
    a notice subscription; and the reconciliations' day rules (issue #29)."""
    if case.operation.path.endswith("/reconciliations") and case.method.upper() == "GET" \
            and (case.query or {}).get("date") is not None:
        # a date that exists (the pattern allows 2026-24-29; the API refuses it, 422)
        case.query = {**case.query, "date": datetime.now(UTC).date().isoformat()}
        return
    if case.method.upper() != "POST" or not isinstance(case.body, dict):
        return
    if case.operation.path.endswith("/reconciliations"):
        # "date or auto_agree alone", and a day within İYS's window: the schema says neither;
        # a run of a day needs İYS, so the generated request sets the brand's setting only
        case.body = {"auto_agree": bool(case.body.get("auto_agree"))}
        return
    if case.operation.path == WEBHOOKS:
        case.body.update(url="https://crm.example.com/iys-hooks", brands=None, owner_id=1)
    elif case.operation.path == "/notices":   # the operator names the owner as well
        case.body.update(owner_id=1)


RECONCILIATIONS = "/brands/{brand_id}/reconciliations"


def within_the_reconciliation_window(case: Any) -> None:
    """A generated valid day (issue #29): one that exists and lies in İYS's seven-day window,
    which moves with the clock (the document can say only its shape)."""
    if case.operation.path != RECONCILIATIONS:
        return
    from iys_push.timefmt import TR

    today = datetime.now(UTC).astimezone(TR).date().isoformat()
    if case.method.upper() == "GET" and case.query and "date" in case.query:
        case.query = {**case.query, "date": today}
    if case.method.upper() == "POST" and isinstance(case.body, dict) and "date" in case.body:
        case.body["date"] = today


IMPORTS = "/brands/{brand_id}/imports"


def within_a_readable_file(case: Any) -> None:
    """A generated valid upload (issue #31): the document can say only "bytes" of three
    media types; what the bytes must be (a CSV or an XLSX workbook with a header row) it
    cannot, so a positive case sends a small CSV of one consent, under a plain name."""
    if case.operation.path != IMPORTS or case.method.upper() != "POST":
        return
    given = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    # wrapped as schemathesis wraps generated bytes, so the case stays schema-valid
    from schemathesis.transport.serialization import Binary

    case.media_type = "text/csv"
    case.query = {"filename": "izinler.csv"}
    case.body = Binary(f"recipient;type;status;source;consent_date\n"
                       f"+905321234567;MESAJ;ONAY;HS_WEB;{given}\n".encode())


def _run_schemathesis(base_url: str, headers: dict[str, str], examples: int,
                      statuses: Counter[int]) -> int:
    """Drive every operation with generated requests, valid ones and (for robustness)
    invalid ones, checking each answer; returns the number of requests sent."""
    schema = schemathesis.openapi.from_dict(document())
    calls = 0
    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        operation = result.ok()

        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            nonlocal calls
            calls += 1
            # called within this iteration, so the loop's current mode is the one meant; a
            # case may still carry negative parts (its own meta says so): left as generated
            meta = getattr(case, "meta", None)
            negative = meta is not None and meta.generation.mode.is_negative
            if mode is GenerationMode.POSITIVE and not negative:  # noqa: B023
                within_the_clock_and_numbering_plan(case)
                within_the_webhook_rules(case)
                within_the_reconciliation_window(case)
                within_a_readable_file(case)
            elif case.media_type == "text/csv" and not isinstance(case.body, str | bytes):
                # a "non-string" CSV body goes out as text, and that text is valid CSV: the
                # violation cannot reach the server (seen once the document grew by /notices)
                return
            response = case.call_and_validate(base_url=base_url, headers=headers,
                                              checks=CHECKS, timeout=10)
            statuses[response.status_code] += 1

        try:
            check()
        except Unsatisfiable:
            # nothing of this operation can be made invalid (e.g. GET /me has no input)
            assert mode is GenerationMode.NEGATIVE
    return calls


# every operation in the document is driven: the run grows with the API, so it has its own
# ceiling above the suite's 120 s default
@pytest.mark.timeout(600)
async def test_generated_requests_get_no_server_error_and_match_the_schema(
    world: World,
) -> None:
    await add_message(world.pool, sender="+905321234567", text="RET ACME", brand="acme")
    await add_message(world.pool, sender="+905321234567", text="IZIN ACME", brand="acme",
                      status="ONAY", to="908505320000", transaction_id=None, state="pending")
    for hours in (2, 3):  # review items, so that the reviews' answers are checked with content
        await add_review(world.pool, received_at=datetime.now(UTC) - timedelta(hours=hours))
    base_url = str(world.client.make_url(PREFIX))
    started = time.monotonic()
    # owner A first: the operator's run may revoke A's token or delete A (token id 1, …)
    statuses: Counter[int] = Counter()
    owner_calls = await asyncio.to_thread(_run_schemathesis, base_url, world.auth("a"),
                                          EXAMPLES // 2, statuses)
    admin_calls = await asyncio.to_thread(_run_schemathesis, base_url, world.auth("admin"),
                                          EXAMPLES, statuses)
    print(f"schemathesis: {admin_calls + owner_calls} requests in "
          f"{time.monotonic() - started:.1f} s, statuses {dict(sorted(statuses.items()))}")
    assert admin_calls > 200 and owner_calls > 100
    assert sum(n for status, n in statuses.items() if status < 300) > 100


async def test_setup_api_mounts_the_api_beside_health_and_metrics(pool: Any,
                                                                  aiohttp_client: Any) -> None:
    from inbound.http import ServiceState, create_app

    app = create_app(ServiceState(pool=pool), admin_token="configured-admin")
    client = await aiohttp_client(app)
    me = await client.get("/api/v1/me", headers={"Authorization": "Bearer configured-admin"})
    assert me.status == 200 and (await me.json())["admin"] is True
    assert (await client.get("/api/v1/nowhere")).status == 401  # no token: nothing to learn
    assert (await client.get("/healthz")).status == 200  # outside /api/v1: no token needed
