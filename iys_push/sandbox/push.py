"""Push registration (IYS_API.md §2.8): ``POST``/``GET …/push/registration``,
``POST …/push/unregistration``, and delivering İYS-side movements to the registered URLs.

Registration sends İYS's test payload to each URL (Basic auth, 5 s) and refuses the
connection when it is not answered 2xx in time (H191 on a timeout, H530 otherwise). At most
two active connections per type (H530 beyond). The URL must be https (H531); the sandbox
also takes http on a loopback host, so tests need no certificate (a deviation it says).

After registration only ``IYS_``-sourced movements are pushed (§2.8), to every connection of
their brand and type: ``deliver`` is awaited by the admin hook that makes a citizen's
movement, so when that call returns the movement was offered to every endpoint.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from iys_push.sandbox.http_common import SANDBOX_STATE, authorise, authorised_body, errors
from iys_push.sandbox.rules import Movement
from iys_push.sandbox.state import SandboxState
from iys_push.timefmt import format_iys

TYPES = ("ARAMA", "MESAJ", "EPOSTA")
MAX_PER_TYPE = 2
TIMEOUT = 5.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
TEST_ITEM = {"iysCode": 121212, "brandCode": 121212, "consentDate": "2015-05-01 15:00:00",
             "creationDate": "2015-05-01 15:00:00", "source": "IYS_MOBIL",
             "recipient": "pushtest@iys.org.tr", "recipientType": "BIREYSEL",
             "status": "ONAY", "type": "EPOSTA",
             "transactionId": "e52ee305c6ab1f0b1d0c0e2a4e8f1b3c429d"}


def _e(code: str, message: str, location: str | None = None, value: Any = None
       ) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "message": message}
    if location is not None:
        item["location"], item["value"] = [location], value
    return item


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


async def _post(url: str, username: str, password: str, body: dict[str, Any]
                ) -> int | None:
    """POST ``body`` to a registered endpoint; its HTTP status, or None (no answer in 5 s)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as s, \
                s.post(url, json=body, headers={"Authorization": basic(username, password)}
                       ) as resp:
            await resp.read()
            return resp.status
    except (TimeoutError, aiohttp.ClientError):
        return None


def _check(connection: Any, index: int) -> dict[str, Any] | None:
    if not isinstance(connection, dict):
        return _e("H530", "Bağlantı oluşturulamadı.", f"connection[{index}]", connection)
    url = connection.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or not (parts.scheme == "https" or (
            parts.scheme == "http" and parts.hostname in LOOPBACK)):
        return _e("H531", "Bağlantı adresi https ile başlamalıdır.",
                  f"connection[{index}].url", url)
    if connection.get("type") not in TYPES:
        return _e("H530", "Bağlantı oluşturulamadı: type ARAMA, MESAJ veya EPOSTA olmalıdır.",
                  f"connection[{index}].type", connection.get("type"))
    for name in ("username", "password"):
        if not isinstance(connection.get(name), str) or not connection[name]:
            return _e("H530", f"Bağlantı oluşturulamadı: {name} gerekli.",
                      f"connection[{index}].{name}", None)
    return None


async def register(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    got = await authorised_body(request)
    if isinstance(got, web.Response):
        return got
    brand_code, body = got
    connections = body.get("connection") if isinstance(body, dict) else None
    if not isinstance(connections, list) or not connections:
        return errors(422, _e("H530", "Bağlantı oluşturulamadı: connection listesi gerekli.",
                              "connection", connections))
    problems = [p for i, c in enumerate(connections) if (p := _check(c, i)) is not None]
    if problems:
        return errors(422, *problems)
    held = state.push_connections[brand_code]
    for c in connections:
        same_type = [h for h in held if h["type"] == c["type"] and h["url"] != c["url"]]
        if len(same_type) >= MAX_PER_TYPE:
            return errors(422, _e("H530", f"Bağlantı oluşturulamadı: {c['type']} için en "
                                  f"fazla {MAX_PER_TYPE} aktif bağlantı olabilir."))
    for c in connections:
        status = await _post(c["url"], c["username"], c["password"], {"list": [TEST_ITEM]})
        if status is None:
            return errors(422, _e("H191", "Bağlantı zaman aşımına uğradı."))
        if not 200 <= status < 300:
            return errors(422, _e("H530", f"Bağlantı oluşturulamadı: test isteği HTTP "
                                  f"{status} ile yanıtlandı."))
    for c in connections:
        held[:] = [h for h in held if not (h["url"] == c["url"] and h["type"] == c["type"])]
        held.append({k: c[k] for k in ("url", "type", "username", "password")})
    return web.json_response({"message": "Bağlantı oluşturuldu"})


async def list_registrations(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    auth = authorise(request)
    if isinstance(auth, web.Response):
        return auth
    return web.json_response({"connection": [
        {"url": h["url"], "type": h["type"], "username": h["username"]}
        for h in state.push_connections[auth[1]]]})


async def unregister(request: web.Request) -> web.Response:
    state = request.app[SANDBOX_STATE]
    got = await authorised_body(request)
    if isinstance(got, web.Response):
        return got
    brand_code, body = got
    connections = body.get("connection") if isinstance(body, dict) else None
    if not isinstance(connections, list):
        return errors(422, _e("H530", "Bağlantı kaldırılamadı.", "connection", connections))
    gone = {(c.get("url"), c.get("type")) for c in connections if isinstance(c, dict)}
    held = state.push_connections[brand_code]
    held[:] = [h for h in held if (h["url"], h["type"]) not in gone]
    return web.json_response({"message": "Bağlantı kaldırıldı"})


def push_item(state: SandboxState, m: Movement) -> dict[str, Any]:
    iys_code = next((a.iys_code for a in state.config.accounts
                     if m.brand_code in a.brand_codes), 0)
    return {"iysCode": iys_code, "brandCode": m.brand_code,
            "consentDate": format_iys(m.consent_date) if m.consent_date else "",
            "creationDate": format_iys(m.creation_date), "source": m.source,
            "recipient": m.recipient, "recipientType": m.recipient_type,
            "status": m.status, "type": m.type, "transactionId": m.transaction_id}


async def deliver(state: SandboxState, m: Movement) -> list[int | None]:
    """Push one movement to its brand's connections of its type (IYS_ sources only); the
    endpoints' HTTP statuses (None: no answer within 5 s)."""
    if not m.source.startswith("IYS_"):
        return []
    targets = [h for h in state.push_connections[m.brand_code] if h["type"] == m.type]
    body = {"list": [push_item(state, m)]}
    statuses = await asyncio.gather(*(_post(h["url"], h["username"], h["password"], body)
                                      for h in targets))
    state.pushed.extend((h["url"], m.transaction_id, s) for h, s in zip(targets, statuses,
                                                                         strict=True))
    return list(statuses)
