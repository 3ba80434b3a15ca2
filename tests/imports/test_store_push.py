"""Storing a consent file and pushing it: duplicates, unchanged rows, the batch endpoint,
live traffic first, fairness between owners, the per-row result against the sandbox."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from inbound.imports import read, results
from inbound.imports.store import Uploader, create, store_file
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer, seed_consent
from tests.imports.files import TR_HEADERS, csv_bytes, recent, write, xlsx_bytes
from tests.iys_push.conftest import add_event, drain, requests, settings

WHO = Uploader("cli", "cli")


def kind(path: Path) -> str:
    with path.open("rb") as stream:
        return read.kind_of(stream.read(4))


async def store(pool: asyncpg.Pool, path: Path, brand: str = "acme") -> tuple[int, dict]:
    import_id = await create(pool, brand, WHO, path.name, kind(path))
    return import_id, await store_file(pool, import_id, brand, WHO, path)


def phone(i: int) -> str:
    return f"0555 {i // 10000 % 1000:03d} {i // 100 % 100:02d} {i % 100:02d}"


def e164(i: int) -> str:
    return "+90555" + f"{i:07d}"


async def test_rows_are_stored_as_evidence_and_parked_events_with_every_outcome_counted(
        db: asyncpg.Pool, tmp_path: Path) -> None:
    await db.execute("""INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type,
                            status, origin, updated_at)
                        VALUES (700001, '+905550000003', 'BIREYSEL', 'MESAJ', 'ONAY', 'pull',
                                now())""")
    rows = [(phone(1), "MESAJ", "ONAY", "HS_WEB", "", recent(50)),
            (phone(2), "MESAJ", "ONAY", "HS_WEB", "", recent(50)),
            (phone(2), "MESAJ", "RET", "HS_WEB", "", recent(10)),    # later: kept
            (phone(3), "MESAJ", "ONAY", "HS_WEB", "", recent(10)),   # already ONAY here
            (phone(4), "MESAJ", "RET", "HS_KARAR", "", recent(10)),  # nothing known
            ("bad", "MESAJ", "ONAY", "HS_WEB", "", recent(10))]
    path = write(tmp_path, "a.csv", csv_bytes(rows, header=TR_HEADERS, sep=";", bom=True))
    import_id, counts = await store(db, path)
    assert counts == {"read": 6, "valid": 2, "refused": 2, "duplicate": 1, "unchanged": 1,
                      "refused_by": {"H121": 1, "H408": 1}}
    events = await db.fetch("SELECT e.recipient, e.status, e.source, e.batch_request_id, "
                            "s.via, s.recipient_input FROM consent_event e JOIN "
                            "consent_submission s ON s.id = e.submission_id ORDER BY e.id")
    assert [(e["recipient"], e["status"], e["source"]) for e in events] == [
        ("+905550000001", "ONAY", "HS_WEB"), ("+905550000002", "RET", "HS_WEB")]
    assert {e["batch_request_id"] for e in events} == {f"import:{import_id}"}
    assert {e["via"] for e in events} == {"import"}
    outcome = {r["row_no"]: r["outcome"] for r in
               await db.fetch("SELECT row_no, outcome FROM consent_import_row")}
    assert outcome == {1: "valid", 2: "duplicate", 3: "valid", 4: "unchanged", 5: "refused",
                       6: "refused"}
    state = await db.fetchrow("SELECT * FROM consent_import WHERE id = $1", import_id)
    assert state["state"] == "pushing" and state["rows_valid"] == 2


async def test_an_unreadable_file_fails_the_import_and_stores_nothing(
        db: asyncpg.Pool, tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", b"name;phone\nx;y\n")
    with pytest.raises(read.FileRefused):
        await store(db, path)
    row = await db.fetchrow("SELECT state, error, finished_at FROM consent_import")
    assert row["state"] == "failed" and "alıcı" in row["error"] and row["finished_at"]
    assert await db.fetchval("SELECT count(*) FROM consent_import_row") == 0


async def test_an_import_goes_through_the_batch_endpoint_and_each_row_matches_the_sandbox(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    n = 1100
    for i in range(0, n, 2):      # the RETs need an ONAY in İYS first
        await seed_consent(sandbox, brand_code=700001, recipient=e164(i))
    rows = [(phone(i), "MESAJ", "RET" if i % 2 == 0 else "ONAY", "HS_WEB", "", recent(20))
            for i in range(n)]
    rows.append(("0212 000", "MESAJ", "ONAY", "HS_WEB", "", recent(20)))
    path = write(tmp_path, "b.xlsx", xlsx_bytes(rows))
    import_id, counts = await store(db, path)
    assert counts["valid"] == n and counts["refused"] == 1
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000), worker_id="w1")
    await drain(pusher, db, timeout=60)
    await pusher.drain_once()    # the round that sees it finished
    assert requests(sandbox, "consents/request 202") == 2          # 1000 + 100
    assert requests(sandbox, "POST /v2/sps/{iys}/brands/{brand}/consents ") == 0
    row = await db.fetchrow("SELECT state, finished_at FROM consent_import")
    assert row["state"] == "finished" and row["finished_at"] is not None
    # the result file says, for every row, what İYS holds
    table = [line async for line in results.rows_csv(db, import_id)]
    header, body = table[0], table[1:]
    assert header[-3:] == ["result", "transaction_id", "detail"] and len(body) == n + 1
    for line in body[:n]:
        recipient = "+90" + line[1].replace(" ", "")[1:]
        (movement,) = [m for m in sandbox.state.movements_for(700001, recipient)
                       if m.status == line[3]]
        assert line[-3] == "accepted" and line[-2] == movement.transaction_id
    assert body[n][-3] == "refused" and "H121" in body[n][-1]


async def test_a_live_ret_waits_for_no_import_and_follows_the_import_row_of_its_key(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    rows = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(30)) for i in range(1100)]
    path = write(tmp_path, "c.csv", csv_bytes(rows))
    await store(db, path)
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000), worker_id="w1")
    await pusher.drain_once()                      # the import's first list is in flight
    assert requests(sandbox, "consents/request 202") == 1
    # a live RET from a recipient that has nothing in the import, and one from a recipient
    # whose import row (ONAY, earlier) has not been sent yet
    parked = await db.fetchval("SELECT recipient FROM consent_event WHERE batch_request_id "
                               "LIKE 'import:%' ORDER BY id DESC LIMIT 1")
    await seed_consent(sandbox, brand_code=700001, recipient="+905321234567")
    other = await add_event(db, "+905321234567", "RET")
    behind = await add_event(db, parked, "RET")
    await pusher.drain_once()   # the other RET, and the import row ahead of the second
    await pusher.drain_once()   # the second RET, right after the import row of its key
    # both went as single adds before the import's next list
    assert requests(sandbox, "consents/request 202") == 1
    states = {r["id"]: r["state"] for r in await db.fetch(
        "SELECT id, state FROM consent_event WHERE import_id IS NULL")}
    assert states == {other: "accepted", behind: "accepted"}
    history = [m.status for m in sandbox.state.movements_for(700001, parked)]
    assert history == ["ONAY", "RET"]


async def test_imports_of_two_owners_take_turns(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    await db.execute("INSERT INTO owner (id, name) VALUES (1, 'a'), (2, 'b')")
    await db.execute("UPDATE brand SET owner_id = 1 WHERE id = 'acme'")
    await db.execute("UPDATE brand SET owner_id = 2 WHERE id = 'beta'")
    big = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(30)) for i in range(1100)]
    small = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(30)) for i in range(5000, 5010)]
    await store(db, write(tmp_path, "big.csv", csv_bytes(big)), "acme")
    small_id, _ = await store(db, write(tmp_path, "small.csv", csv_bytes(small)), "beta")
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000), worker_id="w1")
    await pusher.drain_once()
    await pusher.drain_once()
    # the second list was the small owner's, not the big one's second thousand
    sent = await db.fetchval("SELECT count(*) FROM consent_event WHERE import_id = $1 AND "
                             "batch_request_id NOT LIKE 'import:%'", small_id)
    assert sent == 10
    assert requests(sandbox, "consents/request 202") == 2


async def test_cancel_dismisses_the_rows_not_sent(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    rows = [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(30)) for i in range(1100)]
    import_id, _ = await store(db, write(tmp_path, "d.csv", csv_bytes(rows)))
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000), worker_id="w1")
    await pusher.drain_once()
    assert await results.cancel(db, import_id, "acme")
    await drain(pusher, db)
    await pusher.drain_once()
    summary = await results.summary(db, import_id, "acme")
    assert summary is not None
    assert summary["state"] == "cancelled" and summary["finished_at"] is not None
    assert summary["counts"]["accepted"] == 1000 and summary["counts"]["cancelled"] == 100
    assert len(sandbox.state.movements) == 1000



async def test_a_large_file_leaves_the_outbox_analysed_for_the_pushers_plans(
        db: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # stale statistics after a big load made the import lane's statements walk every import
    # row per live row (the bench's push sent nothing for 30 s); "large" is 5 rows here
    from inbound.imports import store as store_module

    reltuples = "SELECT reltuples FROM pg_class WHERE relname = 'consent_event'"
    path = write(tmp_path, "a.csv", csv_bytes(
        [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(10)) for i in range(1, 6)],
        header=TR_HEADERS, sep=";"))
    await store(db, path)
    assert await db.fetchval(reltuples) < 5                   # a small file: not analysed
    monkeypatch.setattr(store_module, "ANALYZE_FROM", 5)
    path = write(tmp_path, "b.csv", csv_bytes(
        [(phone(i), "MESAJ", "ONAY", "HS_WEB", "", recent(10)) for i in range(11, 16)],
        header=TR_HEADERS, sep=";"))
    await store(db, path)
    assert await db.fetchval(reltuples) == await db.fetchval("SELECT count(*) FROM consent_event")
