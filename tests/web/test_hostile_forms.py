"""The web page's forms and filters fed hostile values (issue #25): never a 5xx, always the
page's own HTML with its security headers, and a refusal shown next to the field it
concerns (the brand form) or naming it (the filters, the explain box)."""

from __future__ import annotations

import asyncio
from collections import Counter

import requests
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.web.catalogue import t
from tests.web.conftest import Site, csrf_of, sign_in

UNICODE_DIGITS = ["²", "٣", "１２", "߂"]
DATES = ["0001-01-01", "9999-12-31", "0000-00-00", "2024-02-30", "２０２４-05-01",
         "2024-5-1", "2024-05-01T00:00:00+14:00"]
NASTY = ["x\x01y", "ACME \u202eTEKRAM", "\u200f", "a\u2066b", "\x85", "line\u2028sep",
         "\x1b[2J", "A" * 5000, "\x00"]
# (the page trims what is typed in a filter: "+905321234567\n" is that number there)
FILTERS = {"recipient": [*UNICODE_DIGITS, "+90532123456７", "abc", *NASTY],
           "status": ["onay", "", *NASTY], "state": ["gone", *NASTY],
           "type": ["SMS", *NASTY], "since": [*DATES, *UNICODE_DIGITS],
           "until": [*DATES, *UNICODE_DIGITS], "limit": [*UNICODE_DIGITS, "0", "1001", "-5",
                                                          "2.0", "9" * 40],
           "cursor": [*UNICODE_DIGITS, "id:²", "aWQ6wrI", "-1", "9" * 40]}
# brand form fields and values each must refuse: too long, or control/bidi characters
FORM = {"name": ["A" * 201, "ACME\u200f", "AC\x01ME", "\u202eEMCA"],
        "aliases": ["B" * 101, "AL\u2066IAS", "x\x7fy"],
        "extra_opt_out": ["W" * 41, "DUR\u202d", "S\x1bTOP"],
        "reply_RET": ["R" * 641, "tamam\x1b[2J", "ok\u202e", "two\nlines"],
        "reply_ONAY": ["O" * 641, "\x07bell"]}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


def _session(client: TestClient) -> requests.Session:
    session = requests.Session()
    for cookie in client.session.cookie_jar:
        session.cookies.set(cookie.key, cookie.value)
    return session


def _page_answer(response: requests.Response, label: str) -> None:
    assert response.status_code < 500, (label, response.status_code)
    assert response.headers["Content-Type"].startswith("text/html"), label
    for header in SECURITY_HEADERS:
        assert header in response.headers, (label, header)


def _filters(base: str, session: requests.Session, statuses: Counter[int]) -> None:
    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(sorted(FILTERS)), data=st.data())
    def run(name: str, data: st.DataObject) -> None:
        value = data.draw(st.sampled_from(FILTERS[name]))
        response = session.get(f"{base}/ui/brands/acme/events", params={name: value},
                               timeout=30)
        statuses[response.status_code] += 1
        _page_answer(response, f"{name}={value!r:.40}")
        if value.strip():  # an empty filter is no filter
            assert response.status_code == 422, (name, value)
            # the page is Turkish: the field is named by its catalogue word (issue #33)
            assert f"{t('field.' + name, 'tr')}:" in response.text, (name, value)
        csv = session.get(f"{base}/ui/brands/acme/events.csv", params={name: value},
                          timeout=30)
        assert csv.status_code < 500 and (csv.status_code == 200) == (not value.strip())

    run()


def _brand_form(base: str, session: requests.Session, csrf: str,
                statuses: Counter[int]) -> None:
    valid = {"csrf": csrf, "name": "ACME", "aliases": "ACME MARKET"}

    @settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(field=st.sampled_from(sorted(FORM)), data=st.data())
    def run(field: str, data: st.DataObject) -> None:
        value = data.draw(st.sampled_from(FORM[field]))
        response = session.post(f"{base}/ui/brands/acme", data={**valid, field: value},
                                allow_redirects=False, timeout=30)
        statuses[response.status_code] += 1
        _page_answer(response, f"{field}={value!r:.40}")
        assert response.status_code == 422, (field, value, response.status_code)
        assert f'id="err-{field}"' in response.text, (field, value)
        assert f'id="f-{field}"' in response.text

    run()


async def test_hostile_filters_and_forms_are_refused_on_the_page(client: TestClient,
                                                                 site: Site) -> None:
    assert (await sign_in(client))[0] == 200
    csrf = csrf_of(await (await client.get("/ui/brands/acme")).text())
    base = str(client.make_url("")).rstrip("/")
    session = _session(client)
    statuses: Counter[int] = Counter()
    await asyncio.to_thread(_filters, base, session, statuses)
    await asyncio.to_thread(_brand_form, base, session, csrf, statuses)
    assert statuses[422] >= 50
    # nothing was saved
    assert await site.pool.fetchval("SELECT name FROM brand WHERE id = 'acme'") == "ACME"


async def test_hostile_explain_and_sign_in_forms(client: TestClient, site: Site) -> None:
    form = await client.get("/ui/login")
    csrf = csrf_of(await form.text())
    for email in ["\x00", "A" * 5000 + "@x", "a\u202e@b", "²@١", ""]:
        response = await client.post("/ui/login", data={"csrf": csrf, "email": email,
                                                        "password": "\x00" * 3})
        assert response.status == 401, email
        assert "Content-Security-Policy" in response.headers
    assert (await sign_in(client))[0] == 200
    csrf = csrf_of(await (await client.get("/ui/brands")).text())
    for number in ["²", "4609\n", "46\x0009", "A" * 5000]:
        response = await client.post("/ui/explain", data={"csrf": csrf, "number": number,
                                                          "text": "RET ACME"})
        assert response.status == 200 and "number:" in await response.text(), number
    deep = '{"number": "4609", "text": ' + "[" * 5000 + "]" * 5000 + "}"
    response = await client.post("/ui/explain", data=deep, headers={
        "Content-Type": "application/json", "X-CSRF-Token": csrf})
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "body"
    assert "Content-Security-Policy" in response.headers
