"""A brand-wide link's one-time code goes out over SMPP (issue #30 item 4): the whole
service bound as a transceiver to the independent SMSC (npm ``smpp``), the code read back
from the submit_sm it received, entered on the page, and the consent recorded."""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace

import aiohttp

from inbound import consent_links, service
from inbound.config import Config, IysConfig
from inbound.consent_links import LinkSpec
from inbound.link_settings import ConsentLinkSettings
from tests.links.conftest import RECIPIENT, TOKEN
from tests.links.test_link_otp import OTP
from tests.smsc_peer import NodeSmsc
from tests.stack import PEER_PASSWORD, link_settings
from tests.waiting import wait_until


async def test_the_code_is_read_from_the_submit_sm_and_records(dsn: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        smsc = await stack.enter_async_context(NodeSmsc(password=PEER_PASSWORD))
        cfg = Config(database_url=dsn, http_port=0, iys=IysConfig(sandbox_port=0),
                     rules_file=service.DEMO_RULES,
                     links=(link_settings(smsc.port, mode="transceiver", send_rate=50),))
        cfg = replace(cfg, consent_links=ConsentLinkSettings(
            base_url="https://ret.example/r", otp_link="peer", otp_outbox="peer",
            otp_source="ACME"))
        running = await service.start(cfg)
        stack.push_async_callback(service.stop, running)
        await smsc.wait_bound()
        _, code = await consent_links.mint_one(running.pool, LinkSpec("acme"), None)
        http = await stack.enter_async_context(aiohttp.ClientSession(running.http_url))
        async with http.get(f"/r/{code}") as response:
            page = await response.text()
        form = {"token": TOKEN.search(page).group(1), "phone": "0532 123 45 67"}
        async with http.post(f"/r/{code}", data=form) as response:
            page = await response.text()
            assert response.status == 200, page
        submit = await smsc.wait_event("submit_sm", lambda e: e.get("status") == 0,
                                       timeout=15)
        fields = submit["fields"]
        assert fields["destination_addr"] == RECIPIENT.lstrip("+")
        assert fields["source_addr"] == "ACME"
        text = bytes.fromhex(fields["short_message"]).decode("latin-1")
        otp_code = re.search(r"\b([0-9]{6})\b", text).group(1)
        form = {"token": TOKEN.search(page).group(1), "otp": OTP.search(page).group(1),
                "code": otp_code}
        async with http.post(f"/r/{code}/verify", data=form) as response:
            done = await response.text()
            assert response.status == 200 and "Tercihiniz kaydedildi" in done, done
        event = await running.pool.fetchrow("SELECT * FROM consent_event")
        assert (event["recipient"], event["status"], event["source"]) == (
            RECIPIENT, "RET", "HS_WEB")
        await wait_until(lambda: _sent(running.pool), what="the code's SMS marked sent")


async def _sent(pool: object) -> bool:
    return await pool.fetchval(  # type: ignore[attr-defined]
        "SELECT state FROM sms_out WHERE kind = 'otp'") == "sent"
