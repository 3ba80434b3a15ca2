"""A file imported "state only" (#29 item 1): a brand's existing consents seed the mirror
(iys_key_state, origin 'seed') through mirror.seed_state and are never pushed."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from inbound.imports import results
from inbound.imports.store import Uploader, create, store_file
from iys_push.pusher import Pusher
from iys_push.sandbox.testing import SandboxServer
from tests.imports.files import TR_HEADERS, csv_bytes, recent, write
from tests.iys_push.conftest import settings

WHO = Uploader("cli", "cli")


async def test_a_state_only_file_seeds_the_mirror_and_sends_nothing(
        sandbox: SandboxServer, db: asyncpg.Pool, tmp_path: Path) -> None:
    # a key the mirror knows with RET: the file's ONAY (a consent the brand holds) wins
    await db.execute("""INSERT INTO iys_key_state (brand_code, recipient, recipient_type, type,
                            status, origin, updated_at)
                        VALUES (700001, '+905550000003', 'BIREYSEL', 'MESAJ', 'RET', 'pull',
                                now())""")
    rows = [("0555 000 00 01", "MESAJ", "ONAY", "HS_WEB", "", "01.02.2020 10:00"),  # years old
            ("0555 000 00 02", "ARAMA", "RET", "HS_WEB", "", recent(10)),
            ("0555 000 00 03", "MESAJ", "ONAY", "HS_ISLAK_IMZA", "", "15.06.2024"),
            ("ali@ornek.com", "EPOSTA", "ONAY", "HS_WEB", "", "01.03.2021 09:00"),
            ("0532 123", "MESAJ", "ONAY", "HS_WEB", "", recent(10)),               # bad number
            ("0555 000 00 04", "MESAJ", "ONAY", "HS_WEB", "", "01.01.2014")]        # < 2015-05
    path = write(tmp_path, "seed.csv", csv_bytes(rows, header=TR_HEADERS, sep=";"))
    import_id = await create(db, "acme", WHO, path.name, "csv", state_only=True)
    counts = await store_file(db, import_id, "acme", WHO, path)
    assert counts["valid"] == 4 and counts["refused_by"] == {"H121": 1, "H156": 1}
    state = {(r["recipient"], r["type"]): (r["status"], r["origin"]) for r in await db.fetch(
        "SELECT recipient, type, status, origin FROM iys_key_state")}
    assert state == {("+905550000001", "MESAJ"): ("ONAY", "seed"),
                     ("+905550000002", "ARAMA"): ("RET", "seed"),
                     ("+905550000003", "MESAJ"): ("ONAY", "seed"),
                     ("ali@ornek.com", "EPOSTA"): ("ONAY", "seed")}
    assert await db.fetchval("SELECT count(*) FROM consent_event") == 0
    summary = await results.summary(db, import_id, "acme")
    assert summary is not None and summary["state_only"] is True
    assert summary["state"] == "finished" and summary["finished_at"] is not None
    assert summary["counts"]["pushed"] == 0 and summary["progress"] == 1.0
    table = [line async for line in results.rows_csv(db, import_id)]
    assert [line[7] for line in table[1:]] == ["seeded"] * 4 + ["refused"] * 2
    # the pusher finds nothing of it to send
    pusher = Pusher(db, "", settings(sandbox, batch_threshold=10_000), worker_id="w1")
    await pusher.drain_once()
    assert sum(sandbox.state.requests.values()) == 0


async def test_the_same_old_rows_are_refused_by_an_ordinary_import(
        db: asyncpg.Pool, tmp_path: Path) -> None:
    rows = [("0555 000 00 01", "MESAJ", "ONAY", "HS_WEB", "", "01.02.2020 10:00")]
    path = write(tmp_path, "old.csv", csv_bytes(rows, header=TR_HEADERS, sep=";"))
    import_id = await create(db, "acme", WHO, path.name, "csv")
    counts = await store_file(db, import_id, "acme", WHO, path)
    assert counts["refused_by"] == {"H467": 1}
    assert await db.fetchval("SELECT count(*) FROM iys_key_state") == 0
