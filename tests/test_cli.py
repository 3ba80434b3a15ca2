"""The command line: a person's mistakes end with one clear line and a non-zero status."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest

from inbound import service
from inbound.config import Config

CLI = [sys.executable, "-m", "inbound.cli"]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DATABASE_URL", None)
    full_env.update(env or {})
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=60, check=False)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {stderr!r}"
    return lines[0]


def test_unknown_flag_exits_non_zero_with_one_line() -> None:
    result = run_cli("run", "--no-such-flag")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "unrecognized arguments: --no-such-flag" in line


def test_invalid_configuration_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[[link]]\nname = "turkcell"\nhost = "smsc"\nsystem_id = "x"\nwindow = "big"\n')
    result = run_cli("--config", str(cfg), "migrate")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "link[turkcell].window" in line and "expected int" in line


def test_password_in_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "secret.toml"
    cfg.write_text('[iys]\npassword = "hunter2"\n')
    result = run_cli("--config", str(cfg), "migrate")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "iys.password" in line and "hunter2" not in result.stderr


def test_unreachable_database_exits_non_zero_with_one_line() -> None:
    result = run_cli("migrate",
                     env={"DATABASE_URL": "postgresql://iys:pw-should-not-show@127.0.0.1:1/x"})
    assert result.returncode == 3
    line = one_line(result.stderr)
    assert "database unavailable" in line and "127.0.0.1:1" in line
    assert "pw-should-not-show" not in line


@pytest.mark.parametrize("command", ["run", "migrate", "send-sms", "events", "sandbox-iys",
                                     "simulate-smsc", "explain", "rules", "admin", "consents",
                                     "requeue", "iys", "mirror", "reconcile", "links"])
def test_every_command_has_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.returncode == 0
    assert "usage: iys-inbound" in result.stdout


async def test_events_requeue_puts_a_failed_event_back_in_the_outbox(
    pool: asyncpg.Pool, dsn: str,
) -> None:
    from tests.api.conftest import add_message, seed_rules

    owner = await pool.fetchval("INSERT INTO owner (name) VALUES ('x') RETURNING id")
    await seed_rules(pool, owner, owner)
    await add_message(pool, sender="+905321234567", text="RET ACME", brand="acme",
                      state="failed", transaction_id=None)
    event_id = await pool.fetchval("SELECT id FROM consent_event")
    result = run_cli("events", "requeue", "--event", str(event_id), env={"DATABASE_URL": dsn})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "requeued 1 event(s)"
    assert await pool.fetchval("SELECT state FROM consent_event") == "pending"


async def test_run_freezes_the_start_up_heap_then_stops_on_sigterm(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``run`` keeps what start-up built out of full garbage collections (see
    ``freeze_startup_heap``), and SIGTERM still stops it cleanly."""
    stopped: list[object] = []

    async def fake_start(config: Config) -> object:
        return "running"

    async def fake_stop(running: object) -> None:
        stopped.append(running)

    def fake_banner(running: object) -> str:
        # runs before serve() waits: the signal arrives once its handler is installed
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)
        return "banner"

    monkeypatch.setattr(service, "start", fake_start)
    monkeypatch.setattr(service, "stop", fake_stop)
    monkeypatch.setattr(service, "banner", fake_banner)
    gc.unfreeze()
    try:
        await service.serve(Config())
        assert gc.get_freeze_count() > 0
        assert stopped == ["running"]
    finally:
        gc.unfreeze()


@pytest.fixture
async def empty_dsn(pg_server_dsn: str) -> str:
    """A database that was never migrated: no iys-inbound table at all."""
    from tests.conftest import create_database

    return await create_database(pg_server_dsn, f"never_migrated_{uuid.uuid4().hex[:12]}")


@pytest.mark.parametrize("args", [("rules", "export"), ("explain", "--number", "4609", "RET X"),
                                  ("events",)])
async def test_commands_on_a_never_migrated_database_migrate_first(
        empty_dsn: str, args: tuple[str, ...]) -> None:
    result = run_cli(*args, env={"DATABASE_URL": empty_dsn})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
    finally:
        await conn.close()


async def test_rules_import_on_a_never_migrated_database_migrates_first(
        empty_dsn: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[number]]\nmsisdn = "4609"\nshared = true\n\n[[brand]]\nid = "acme"\n'
                     'name = "ACME"\niys_code = 700001\nbrand_code = 700001\n')
    result = run_cli("rules", "import", str(rules), env={"DATABASE_URL": empty_dsn})
    assert result.returncode == 0, result.stderr
    conn = await asyncpg.connect(empty_dsn)
    try:
        assert await conn.fetchval("SELECT name FROM brand WHERE id = 'acme'") == "ACME"
    finally:
        await conn.close()


def test_a_schema_error_is_one_line_naming_migrate(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A table missing despite the migrations (a newer code on an old schema the user may not
    migrate) ends with one line that says what to do, not a traceback."""
    from inbound import cli

    async def missing(*_: object) -> None:
        raise asyncpg.UndefinedTableError('relation "brand" does not exist')

    monkeypatch.setattr(cli, "_dispatch", missing)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["rules", "export"])
    assert stopped.value.code == 3
    line = one_line(capsys.readouterr().err)
    assert "iys-inbound migrate" in line and 'relation "brand"' in line


async def test_consents_add_records_with_the_apis_checks_and_show_prints_the_state(
    pool: asyncpg.Pool, dsn: str,
) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.api.conftest import seed_rules

    owner = await pool.fetchval("INSERT INTO owner (name) VALUES ('x') RETURNING id")
    await seed_rules(pool, owner, owner)
    given = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    env = {"DATABASE_URL": dsn}
    base = ("consents", "add", "--brand", "acme", "--recipient", "0532 123 45 67",
            "--type", "MESAJ", "--type", "ARAMA", "--source", "HS_CAGRI_MERKEZI")
    refused = run_cli(*base, "--status", "ONAY", "--date", "2015-04-30T10:00:00+03:00",
                      env=env)
    assert refused.returncode == 1
    assert "consent_date" in refused.stderr and "[H156]" in refused.stderr
    assert await pool.fetchval("SELECT count(*) FROM consent_event") == 0
    added = run_cli(*base, "--status", "ONAY", "--date", given, "--evidence", "call=C-7",
                    env=env)
    assert added.returncode == 0, added.stderr
    [item] = json.loads(added.stdout)["consents"]
    assert item["recipient"] == "+905321234567" and len(item["events"]) == 2
    rows = await pool.fetch("SELECT s.via, s.evidence, e.state FROM consent_event e "
                            "JOIN consent_submission s ON s.id = e.submission_id")
    assert {(r["via"], r["state"]) for r in rows} == {("cli", "pending")}
    shown = run_cli("consents", "show", "--brand", "acme", "--recipient", "+905321234567",
                    env=env)
    assert shown.returncode == 0, shown.stderr
    states = json.loads(shown.stdout)["states"]
    assert {len(s["pending"]) for s in states if s["recipient_type"] == "BIREYSEL"} == {1}
