"""The catalogue (issue #33): a Turkish page has no English word left. Every page and the
states, outcomes, errors and explanations they show are rendered in Turkish, and their
visible text is checked against the English side of the catalogue (the words that only
English uses)."""

from __future__ import annotations

import html as htmlmod
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from inbound.api import routes_imports
from inbound.web.catalogue import WORDS, say
from tests.api.conftest import add_message
from tests.imports.files import TR_HEADERS, csv_bytes, recent
from tests.links.conftest import make_links
from tests.near_miss import add_review
from tests.web.conftest import RECIPIENT, Site, csrf_of, sign_in
from tests.web.test_imports import form as upload_form

STATES = ("pending", "accepted", "not_needed", "superseded", "duplicate", "failed",
          "dismissed")
WORD = re.compile(r"[A-Za-zÇĞİÖŞÜçğıöşü]+")


def english_only_words() -> set[str]:
    """Words of the catalogue's English side that its Turkish side never uses."""
    english = {w.lower() for _, en in WORDS.values() for w in WORD.findall(en)}
    turkish = {w.lower() for tr, _ in WORDS.values() for w in WORD.findall(tr)}
    return {w for w in english - turkish if len(w) >= 3}


def visible_text(page: str) -> str:
    """What a reader sees or hears: text, titles, labels, placeholders (no tags, no code
    values, no URLs, not İYS's raw requests and answers)."""
    # İYS's own requests, answers and paths (<pre>, <code>) are evidence kept as they were
    page = re.sub(r"<(script|style|pre|code)[^>]*>.*?</\1>", " ", page, flags=re.S)
    attrs = " ".join(m.group(2) for m in re.finditer(
        r'\b(title|aria-label|placeholder|alt)="([^"]*)"', page))
    text = re.sub(r"<[^>]+>", " ", page)
    return htmlmod.unescape(text + " " + attrs)


def leftovers(page: str, allowed: set[str]) -> set[str]:
    words = english_only_words()
    return {w for w in WORD.findall(visible_text(page)) if w.lower() in words
            and w.lower() not in allowed}


async def _seed(site: Site) -> None:
    now = datetime.now(UTC)
    for i, state in enumerate(STATES):
        await add_message(site.pool, sender=RECIPIENT, text="RET ACME", brand="acme",
                          at=now - timedelta(hours=i + 1), state=state,
                          transaction_id="f" * 64 if state == "accepted" else None)
    await add_review(site.pool, brand="acme", sender=RECIPIENT,
                     received_at=now - timedelta(hours=9))
    for text, outcome in (("merhaba", "no_keyword"), ("RET", "ambiguous"),
                          ("RET FOO", "unknown_brand")):
        await add_message(site.pool, sender=RECIPIENT, text=text, brand=None,
                          to="908505320000", outcome=outcome, at=now - timedelta(hours=2))
    await site.pool.execute(
        "UPDATE mo_message SET reason = 'No opt-out or opt-in word on number 908505320000, "
        "dedicated to ACME.'")


# data the test world holds (names, message texts) and codes that are the same in both
ALLOWED = {"acme", "market", "foo", "kuzey", "kahve", "example", "gida"}


async def test_no_english_word_is_left_on_a_turkish_page(client: TestClient,
                                                         site: Site) -> None:
    await _seed(site)
    await sign_in(client)
    pages = ["/ui/overview", "/ui/brands", "/ui/brands/acme", "/ui/brands/acme/overview",
             "/ui/brands/acme/events", f"/ui/brands/acme/recipients/{RECIPIENT}",
             "/ui/brands/acme/consents/new", "/ui/account", "/ui/users", "/ui/tokens",
             "/ui/brands/acme/events?recipient=abc", "/ui/brands/acme/events?since=31.02.2026",
             "/ui/brands/nosuch/events"]
    pages += [f"/ui/brands/acme/events?state={s}" for s in STATES]
    found = {}
    for path in pages:
        response = await client.get(path)
        assert response.status < 500, path
        left = leftovers(await response.text(), ALLOWED)
        if left:
            found[path] = left
    # forms refused: a keyword conflict, a consent İYS would refuse, explain outcomes
    html = await (await client.get("/ui/brands/acme")).text()
    conflict = await client.post("/ui/brands/acme", data={"csrf": csrf_of(html),
                                                          "name": "ACME", "aliases": "KUZEY"})
    assert conflict.status == 409
    refused = await client.post("/ui/brands/acme/consents", data={
        "csrf": csrf_of(html), "recipient": "0212 123 45 67", "type": "MESAJ",
        "status": "ONAY", "source": "HS_WEB", "consent_date": "01.01.2020 10:00"})
    assert refused.status == 422
    answers = {"conflict": await conflict.text(), "refused": await refused.text()}
    for text in ("RET ACME", "merhaba", "RET", "RET FOO", "iptal etmek istiyorum ACME",
                 "ret acmee", "RET ACME IZIN ACME"):
        for number in ("908505320000", "4609"):
            explained = await client.post("/ui/explain", data={
                "csrf": csrf_of(html), "number": number, "text": text})
            answers[f"explain {text} {number}"] = await explained.text()
    for name, page in answers.items():
        left = leftovers(page, ALLOWED)
        if left:
            found[name] = left
    assert not found, "\n".join(f"{k}: {sorted(v)}" for k, v in found.items())
    assert "başka bir markada kullanılıyor" in answers["conflict"]


def test_the_english_side_is_the_api_and_the_page_shows_turkish() -> None:
    detail = "'kuzey' is already used by another brand on 4609"
    assert say(detail, "en") == detail
    assert say(detail, "tr") == "'kuzey' başka bir markada kullanılıyor (numara 4609)"
    assert say("an unknown sentence", "tr") == "an unknown sentence"


def test_every_word_has_both_languages() -> None:
    for key, (turkish, english) in WORDS.items():
        assert turkish.strip() and english.strip(), key


async def _seed_features(client: TestClient, site: Site) -> list[str]:
    """A reconciliation report of each outcome, an upload, a webhook with a delivery, an
    e-mail subscription: the feature pages with something to show. Answers the pages
    (and the one-off answers: the new webhook's secret)."""
    await site.pool.execute(
        "INSERT INTO iys_mirror_status (brand_code, pulled_at, push_registered, reconciled_day)"
        " VALUES (700001, now() - interval '5 minutes', true, current_date - 2)")
    for i, outcome in enumerate(("matched", "mismatch", "unavailable", "drift")):
        await site.pool.execute(
            "INSERT INTO iys_reconciliation (brand_code, day, outcome, file_rows, drift_rows,"
            " drift, hash_ok) VALUES (700001, current_date - $1::int, $2, 4, 0, '[]', true)",
            i + 1, outcome)
    html = await (await client.get("/ui/brands/acme/imports")).text()
    rows = [("0532 123 45 67", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent()),
            ("0532 123", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", recent())]
    uploaded = await client.post("/ui/brands/acme/imports", allow_redirects=False, data=upload_form(
        csrf_of(html), csv_bytes(rows, header=TR_HEADERS, sep=";", bom=True)))
    assert uploaded.status == 303
    await routes_imports.wait_for_storing()
    status_page = uploaded.headers["Location"]
    html = await (await client.get("/ui/webhooks")).text()
    created = await client.post("/ui/webhooks", data={
        "csrf": csrf_of(html), "url": "https://crm.acme.example/hook",
        "events": ["consent.received"], "brands": "acme", "recipient": "full"})
    assert created.status == 201
    refused = await client.post("/ui/webhooks", data={
        "csrf": csrf_of(html), "url": "https://10.0.0.5/hook", "events": "consent.received"})
    assert refused.status == 422
    await client.post("/ui/notices", data={"csrf": csrf_of(html), "email": "uyum@acme.example",
                                           "digest": "1", "immediate": ["drift"]})
    bad_mail = await client.post("/ui/notices", data={"csrf": csrf_of(html), "email": "yok"})
    wid = await site.pool.fetchval("SELECT id FROM webhook_endpoint")
    await site.pool.execute("UPDATE webhook_endpoint SET paused_at = now()")
    return [await created.text(), await refused.text(), await bad_mail.text(),
            status_page, status_page + "?lang=tr", f"/ui/webhooks/{wid}"]


async def test_the_feature_pages_have_no_english_word_left(client: TestClient,
                                                           site: Site) -> None:
    await sign_in(client)
    created, refused, bad_mail, *paths = await _seed_features(client, site)
    paths += ["/ui/brands/acme/mirror", "/ui/brands/acme/imports", "/ui/webhooks",
              "/ui/brands", "/ui/brands/acme/overview", "/ui/brands/kuzey/mirror",
              "/ui/imports", "/ui/mirror"]
    found = {}
    for path in paths:
        response = await client.get(path)
        assert response.status < 500, path
        left = leftovers(await response.text(), ALLOWED)
        if left:
            found[path] = left
    for name, answer in (("webhook created", created), ("webhook refused", refused),
                         ("bad e-mail", bad_mail)):
        left = leftovers(answer, ALLOWED | {"crm", "whsec"})
        if left:
            found[name] = left
    assert not found, "\n".join(f"{k}: {sorted(v)}" for k, v in found.items())


async def test_the_link_page_has_no_english_word_left(pool: asyncpg.Pool,
                                                      aiohttp_client: Any) -> None:
    links = await make_links(pool, aiohttp_client)
    await pool.execute("UPDATE brand SET settings = settings || $1::jsonb WHERE id = 'acme'",
                       {"privacy_notice": {"url": "https://acme.example/kvkk"}})
    found = {}
    for action in ("RET", "ONAY", "choice"):
        made = await links.mint(action=action)
        status, page = await links.open(made["code"])
        assert status == 200, page
        _, done = await links.tap(made["code"], status="RET" if action == "choice" else None)
        for name, text in ((f"{action} page", page), (f"{action} done", done)):
            left = leftovers(text, ALLOWED)
            if left:
                found[name] = left
    status, missing = await links.open("nosuchcode12")
    assert status == 404
    if left := leftovers(missing, ALLOWED):
        found["unknown code"] = left
    assert not found, "\n".join(f"{k}: {sorted(v)}" for k, v in found.items())
