"""``iys-inbound webhooks test --endpoint ID``: a signed sample reaches the receiver, which
verifies it with ``standardwebhooks``; a receiver that refuses makes the command fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.test_cli import run_cli
from tests.webhooks.conftest import Owners, Receiver, add_endpoint


async def test_a_signed_sample_is_delivered_and_a_refusal_is_reported(
        owners: Owners, receiver: Receiver, dsn: str, tmp_path: Path) -> None:
    endpoint, secret = await add_endpoint(owners.pool, owners.a, receiver.url,
                                          brands=["acme"])
    receiver.secrets = [secret]
    env = {"DATABASE_URL": dsn}   # no configuration file: the zero-config default (loopback)
    sent = await asyncio.to_thread(run_cli, "webhooks", "test", "--endpoint", str(endpoint),
                                   env=env, cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert "delivered (HTTP 204)" in sent.stdout
    [sample] = receiver.received
    assert sample["data"]["test"] is True and sample["data"]["brand"] == "acme"
    assert receiver.headers[0]["webhook-id"].startswith("msg_test_")
    assert await owners.pool.fetchval("SELECT count(*) FROM webhook_attempt") == 0
    receiver.status = 500
    failed = await asyncio.to_thread(run_cli, "webhooks", "test", "--endpoint", str(endpoint),
                                     env=env, cwd=tmp_path)
    assert failed.returncode == 1 and "http_error (HTTP 500)" in failed.stdout
    # a configuration file's default refuses loopback
    config = tmp_path / "strict.toml"
    config.write_text('[[link]]\nname = "x"\nhost = "smsc.example"\nsystem_id = "x"\n',
                      encoding="utf-8")
    receiver.status = 204
    refused = await asyncio.to_thread(run_cli, "--config", str(config), "webhooks", "test",
                                      "--endpoint", str(endpoint), env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "refused" in refused.stdout and "loopback" in refused.stdout


async def test_notices_subscribe_list_unsubscribe(owners: Owners, dsn: str,
                                                  tmp_path: Path) -> None:
    env = {"DATABASE_URL": dsn}
    added = await asyncio.to_thread(
        run_cli, "notices", "subscribe", "--owner", str(owners.a), "--email",
        "uyum@acme.example", "--immediate", "failed", "--immediate", "review", env=env,
        cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    row = await owners.pool.fetchrow("SELECT * FROM notice_subscription")
    assert row["digest"] and sorted(row["immediate"]) == ["failed", "review"]
    listed = await asyncio.to_thread(run_cli, "notices", "list", env=env, cwd=tmp_path)
    assert "uyum@acme.example" in listed.stdout and "immediate=failed,review" in listed.stdout
    gone = await asyncio.to_thread(run_cli, "notices", "unsubscribe", "--owner",
                                   str(owners.a), "--email", "uyum@acme.example", env=env,
                                   cwd=tmp_path)
    assert gone.returncode == 0 and "unsubscribed" in gone.stdout
    assert await owners.pool.fetchval("SELECT count(*) FROM notice_subscription") == 0
