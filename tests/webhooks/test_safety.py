"""Where webhooks may go: every resolved address checked, the checked address connected to,
private targets refused unless allowed, redirects never followed."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from inbound.webhooks.delivery import Deliverer
from inbound.webhooks.safety import AddressPolicy, CheckingResolver, RefusedTarget, check_url
from tests.webhooks.conftest import FakeClock, Owners, Receiver, add_endpoint, deliverer

STRICT = AddressPolicy()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1",
                                     "169.254.169.254", "100.64.0.1", "::1", "fe80::1",
                                     "fc00::1", "224.0.0.251", "0.0.0.0", "240.0.0.1",
                                     "::ffff:192.168.0.1"])
def test_non_public_addresses_are_refused_by_default(address: str) -> None:
    assert STRICT.refusal(ipaddress.ip_address(address)) is not None


def test_public_addresses_pass_and_the_allowances_do_what_they_say() -> None:
    assert STRICT.refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert STRICT.refusal(ipaddress.ip_address("2606:4700::1111")) is None
    loop = AddressPolicy(allow_loopback=True)
    assert loop.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert loop.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    private = AddressPolicy(allow_private=True)
    assert private.refusal(ipaddress.ip_address("10.0.0.1")) is None
    assert private.refusal(ipaddress.ip_address("224.0.0.1")) is not None


async def test_the_resolver_refuses_a_name_that_resolves_inside() -> None:
    with pytest.raises(RefusedTarget, match="loopback"):
        await CheckingResolver(STRICT).resolve("localhost", 443)
    answers = await CheckingResolver(AddressPolicy(allow_loopback=True)).resolve("localhost",
                                                                                 443)
    # aiohttp connects to exactly these: the checked addresses, no second lookup
    assert answers and all(ipaddress.ip_address(a["host"]).is_loopback for a in answers)


def test_url_shapes() -> None:
    assert check_url("https://crm.example.com/x", STRICT) == "crm.example.com"
    for bad in ("http://crm.example.com/x", "https://u:p@crm.example.com/",
                "https://127.0.0.1/", "https://[::1]:8443/", "https://crm.example.com:0/"):
        with pytest.raises(RefusedTarget):
            check_url(bad, STRICT)


async def test_a_strict_deliverer_refuses_a_local_receiver_and_keeps_the_delivery(
        owners: Owners, receiver: Receiver) -> None:
    from tests.api.conftest import add_message

    _, secret = await add_endpoint(owners.pool, owners.a, receiver.url)
    receiver.secrets = [secret]
    await add_message(owners.pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    strict = Deliverer(owners.pool, policy=STRICT, clock=FakeClock())
    try:
        await strict.step()
    finally:
        await strict.close()
    assert receiver.received == []
    attempt = await owners.pool.fetchrow("SELECT outcome, error FROM webhook_attempt")
    assert attempt["outcome"] == "refused" and "loopback" in attempt["error"]
    assert await owners.pool.fetchval("SELECT state FROM webhook_delivery") == "pending"


async def test_a_redirect_is_not_followed(owners: Owners, receiver: Receiver) -> None:
    from tests.api.conftest import add_message

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(receiver.url)

    app = web.Application()
    app.router.add_post("/moved", redirect)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        _, secret = await add_endpoint(owners.pool, owners.a, str(server.make_url("/moved")))
        receiver.secrets = [secret]
        await add_message(owners.pool, sender="+905321234567", text="RET ACME", brand="acme",
                          state="pending")
        await deliverer(owners.pool, FakeClock()).step()
    finally:
        await server.close()
    assert receiver.received == []
    row = await owners.pool.fetchrow("SELECT state, last_status FROM webhook_delivery")
    assert (row["state"], row["last_status"]) == ("pending", 302)


def test_loopback_only_in_the_zero_config_default() -> None:
    from inbound.config import parse

    assert parse({}, {}).webhooks.policy(zero_config=True).allow_loopback is True
    with_file = parse({"http": {"port": 8080}}, {}).webhooks
    assert with_file.policy(zero_config=True).allow_loopback is False
    assert parse({"webhooks": {"allow_loopback": True}}, {}).webhooks.allow_loopback is True
    assert parse({}, {}).webhooks.allow_private is False
