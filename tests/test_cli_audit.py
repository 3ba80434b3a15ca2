"""Account and configuration changes made with the CLI are in the audit, as the CLI's
(issue #25: `admin assign-brand` and `admin set-password` were not)."""

from __future__ import annotations

import asyncpg

from tests.test_cli import run_cli


async def test_cli_account_changes_appear_in_the_audit(pool: asyncpg.Pool, dsn: str,
                                                      tmp_path: object) -> None:
    from tests.api.conftest import seed_rules

    env = {"DATABASE_URL": dsn}
    created = run_cli("admin", "create-owner", "--name", "Acme", "--email", "it@acme.example",
                      env=env)
    assert created.returncode == 0, created.stderr
    owner = int(created.stdout.strip())
    await seed_rules(pool, owner, owner)
    await pool.execute("UPDATE brand SET owner_id = NULL WHERE id = 'kuzey'")
    steps = [("admin", "assign-brand", "kuzey", "--owner", str(owner)),
             ("admin", "create-token", "--owner", str(owner), "--name", "ci")]
    for args in steps:
        result = run_cli(*args, env=env)
        assert result.returncode == 0, result.stderr
    token_id = await pool.fetchval("SELECT max(id) FROM api_token")
    assert run_cli("admin", "revoke-token", str(token_id), env=env).returncode == 0
    result = subprocess_with_stdin(["admin", "set-password", "--owner", str(owner),
                                    "--password-stdin"], "a-long-password-1\n", env)
    assert result.returncode == 0, result.stderr

    rows = await pool.fetch("SELECT action, resource, resource_id, actor_via, actor_admin, "
                            "actor_token_id, before, after FROM config_audit ORDER BY id")
    seen = [(r["action"], r["resource"], r["resource_id"]) for r in rows]
    assert seen == [("create", "owner", str(owner)), ("update", "brand", "kuzey"),
                    ("create", "token", str(token_id)), ("delete", "token", str(token_id)),
                    ("update", "owner", str(owner))]
    assert all(r["actor_via"] == "cli" and r["actor_admin"] and r["actor_token_id"] is None
               for r in rows)
    assert rows[1]["before"] == {"owner_id": None} and rows[1]["after"] == {"owner_id": owner}
    assert "a-long-password-1" not in str([dict(r) for r in rows])


async def test_cli_rules_import_is_audited(pool: asyncpg.Pool, dsn: str, tmp_path: object
                                           ) -> None:
    from pathlib import Path

    rules = Path(str(tmp_path)) / "rules.toml"
    rules.write_text('[[number]]\nmsisdn = "4609"\nshared = true\n\n[[brand]]\nid = "acme"\n'
                     'name = "ACME"\niys_code = 700001\nbrand_code = 700001\n')
    result = run_cli("rules", "import", str(rules), env={"DATABASE_URL": dsn})
    assert result.returncode == 0, result.stderr
    row = await pool.fetchrow("SELECT action, resource, actor_via, after FROM config_audit")
    assert (row["action"], row["resource"], row["actor_via"]) == ("import", "rules", "cli")
    assert row["after"]["brand"][0]["id"] == "acme"


def subprocess_with_stdin(args: list[str], stdin: str, env: dict[str, str]
                          ) -> object:
    import os
    import subprocess

    from tests.test_cli import CLI

    full_env = {**os.environ, **env}
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=60, check=False)
