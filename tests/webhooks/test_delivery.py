"""Webhooks from the outbox to a receiver that checks signatures independently
(``standardwebhooks``): every channel's events, per-brand sequence, retries through an
hour-long outage on a fake clock, pausing after a day, replay, owners kept apart."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from inbound.webhooks import SQL
from tests.api.conftest import add_message
from tests.webhooks.conftest import FakeClock, Owners, Receiver, add_endpoint, deliverer


async def drain(d, rounds: int = 20) -> None:  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        if not await d.step():
            return


async def test_every_kind_reaches_the_owner_signed_with_the_api_field_names(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    _, secret = await add_endpoint(pool, owners.a, receiver.url)
    receiver.secrets = [secret]
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending", transaction_id=None)
    await pool.execute("UPDATE consent_event SET state = 'accepted', iys_transaction_id = 'tx-9'")
    await pool.execute(
        "INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status,"
        " consent_date, source, origin, transaction_id) VALUES (700001, '+905329999999',"
        " 'BIREYSEL', 'MESAJ', 'RET', now(), 'HS_EDEVLET', 'pull', 'tx-ed')")
    # our own accepted push is consent.settled, not iys.changed
    await pool.execute(
        "INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type, status,"
        " origin) VALUES (700001, '+905328888888', 'BIREYSEL', 'MESAJ', 'RET', 'push')")
    clock = FakeClock()
    await drain(deliverer(pool, clock))
    assert receiver.bad_signatures == 0
    kinds = [b["type"] for b in receiver.received]
    assert sorted(kinds) == ["consent.received", "consent.settled", "iys.changed"]
    settled = next(b for b in receiver.received if b["type"] == "consent.settled")["data"]
    assert settled["iys_transaction_id"] == "tx-9" and settled["state"] == "accepted"
    assert settled["recipient"] == "+905321234567" and settled["brand"] == "acme"
    assert settled["consent_date"].endswith("+03:00")
    assert {"type", "status", "source", "recipient_type"} <= settled.keys()
    assert sorted(b["data"]["sequence"] for b in receiver.received) == [1, 2, 3]
    ids = {h["webhook-id"] for h in receiver.headers}
    assert len(ids) == 3


async def test_masked_recipient_and_brand_filter(owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    _, secret = await add_endpoint(pool, owners.a, receiver.url, full=False,
                                   brands=["acme"])
    receiver.secrets = [secret]
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    await drain(deliverer(pool, FakeClock()))
    [only] = receiver.received
    assert only["data"]["recipient"] != "+905321234567"
    assert only["data"]["recipient"].startswith("+90532") and "*" in only["data"]["recipient"]


async def test_one_owner_never_receives_another_owners_events(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    _, secret_a = await add_endpoint(pool, owners.a, receiver.url)
    receiver.secrets = [secret_a]
    await add_message(pool, sender="+905321234567", text="RET KUZEY", brand="kuzey",
                      state="pending")
    await add_message(pool, sender="+905321234568", text="RET ACME", brand="acme",
                      state="pending")
    # even an endpoint that names the other owner's brand gets nothing of it
    await pool.execute("UPDATE webhook_endpoint SET brands = '{kuzey,acme}'")
    await drain(deliverer(pool, FakeClock()))
    assert [b["data"]["brand"] for b in receiver.received] == ["acme"]


async def test_an_hour_of_outage_then_every_event_once_in_sequence_order(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    _, secret = await add_endpoint(pool, owners.a, receiver.url)
    receiver.secrets = [secret]
    receiver.status = 503
    clock = FakeClock()
    d = deliverer(pool, clock)
    for i in range(12):
        await add_message(pool, sender=f"+9053212345{i:02d}", text="RET ACME", brand="acme",
                          state="pending")
        await d.step()
        clock.advance(minutes=5)
    for _ in range(60):                # an hour, a minute at a time
        await d.step()
        clock.advance(minutes=1)
    assert receiver.received == [] and receiver.refused_while_down >= 12
    from inbound.webhooks import delivery

    await d.refresh_gauges()
    assert delivery.BACKLOG._value.get() == 12
    assert delivery.BACKLOG_AGE._value.get() >= 3600
    attempts_during = await pool.fetchval("SELECT max(attempts) FROM webhook_delivery")
    assert 3 <= attempts_during <= 12   # backed off, not hammered
    receiver.status = 200
    for _ in range(24 * 6):            # within a day of backoff every delivery comes through
        await d.step()
        clock.advance(minutes=10)
        if len(receiver.received) == 12:
            break
    got = receiver.received
    assert len(got) == 12
    seqs = sorted(b["data"]["sequence"] for b in got)
    assert seqs == list(range(1, 13))
    by_id = {}
    for h, b in zip(receiver.headers, got, strict=True):
        by_id.setdefault(b["data"]["id"], set()).add(h["webhook-id"])
    assert all(len(v) == 1 for v in by_id.values()) and len(by_id) == 12
    assert await pool.fetchval(
        "SELECT count(*) FROM webhook_delivery WHERE state = 'delivered'") == 12


async def test_a_day_of_failures_pauses_the_endpoint_and_resume_delivers_the_kept(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    endpoint, secret = await add_endpoint(pool, owners.a, receiver.url)
    receiver.secrets = [secret]
    receiver.status = 500
    clock = FakeClock()
    d = deliverer(pool, clock)
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    for _ in range(40):   # backoff reaches its 6 h cap: the failure after a day comes by 36 h
        await d.step()
        clock.advance(hours=1)
    paused = await pool.fetchval("SELECT paused_at FROM webhook_endpoint WHERE id = $1",
                                 endpoint)
    assert paused is not None
    attempts = await pool.fetchval("SELECT count(*) FROM webhook_attempt")
    receiver.status = 200
    for _ in range(5):
        await d.step()
        clock.advance(hours=1)
    assert await pool.fetchval("SELECT count(*) FROM webhook_attempt") == attempts  # paused
    await pool.fetchrow(SQL.resume_endpoint, endpoint, owners.a, clock())
    await d.step()
    assert len(receiver.received) == 1


async def test_gives_up_after_three_days_and_replay_sends_again_with_the_same_id(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    endpoint, secret = await add_endpoint(pool, owners.a, receiver.url)
    receiver.secrets = [secret]
    receiver.status = 500
    clock = FakeClock()
    start = clock()
    d = deliverer(pool, clock, pause_after=timedelta(days=30))
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    for _ in range(80):
        await d.step()
        clock.advance(hours=1)
    row = await pool.fetchrow("SELECT state, attempts FROM webhook_delivery")
    assert row["state"] == "failed"
    last = await pool.fetchval("SELECT max(at) FROM webhook_attempt")
    assert last <= start + timedelta(days=3)
    receiver.status = 200
    replayed = await pool.fetchrow(SQL.replay, endpoint, owners.a, start - timedelta(hours=1),
                                   clock())
    assert replayed["replayed"] == 1
    await d.step()
    [got] = receiver.received
    assert receiver.headers[0]["webhook-id"] == f"msg_{got['data']['id'].removeprefix('evt_')}"


async def test_rotation_overlap_sends_both_signatures(owners: Owners,
                                                      receiver: Receiver) -> None:
    pool = owners.pool
    endpoint, old = await add_endpoint(pool, owners.a, receiver.url)
    clock = FakeClock()
    from inbound.webhooks import new_secret

    new = new_secret()
    await pool.fetchrow(SQL.rotate_secret, endpoint, owners.a, new, clock() + timedelta(hours=1))
    receiver.secrets = [old]              # a receiver not yet switched still verifies
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    d = deliverer(pool, clock)
    await d.step()
    assert len(receiver.received) == 1
    assert len(receiver.headers[0]["webhook-signature"].split(" ")) == 2
    clock.advance(hours=2)                # after the overlap only the new one signs
    receiver.secrets = [old]
    await add_message(pool, sender="+905321234568", text="RET ACME", brand="acme",
                      state="pending")
    await d.step()
    assert receiver.bad_signatures == 1
    assert len(receiver.headers) == 1


async def test_no_endpoint_no_outbox_rows(owners: Owners) -> None:
    pool: asyncpg.Pool = owners.pool
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="pending")
    await pool.execute("UPDATE consent_event SET state = 'accepted'")
    assert await pool.fetchval("SELECT count(*) FROM webhook_event") == 0


async def test_an_import_that_ends_sends_import_finished_once_with_its_counts(
        owners: Owners, receiver: Receiver) -> None:
    pool = owners.pool
    _, secret = await add_endpoint(pool, owners.a, receiver.url, events=("import.finished",))
    receiver.secrets = [secret]
    import_id = await pool.fetchval(
        "INSERT INTO consent_import (brand_id, owner_id, via, actor, filename, format, state,"
        " rows_read, rows_valid, rows_refused) VALUES ('acme', $1, 'api', 'test', 'a.csv',"
        " 'csv', 'pushing', 10, 8, 2) RETURNING id", owners.a)
    await pool.execute("UPDATE consent_import SET updated_at = now() WHERE id = $1", import_id)
    assert await pool.fetchval("SELECT count(*) FROM webhook_event") == 0  # not ended yet
    await pool.execute("UPDATE consent_import SET state = 'finished', finished_at = now()"
                       " WHERE id = $1", import_id)
    await pool.execute("UPDATE consent_import SET finished_at = now() WHERE id = $1", import_id)
    await drain(deliverer(pool, FakeClock()))
    assert [b["type"] for b in receiver.received] == ["import.finished"]
    data = receiver.received[0]["data"]
    assert data["import_id"] == import_id and data["state"] == "finished"
    assert (data["rows_read"], data["rows_valid"], data["rows_refused"]) == (10, 8, 2)
    assert receiver.bad_signatures == 0
