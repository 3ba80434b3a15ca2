"""The .sql loader: named blocks, read whole, refused when ambiguous; every shipped file loads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import asyncpg
import pytest

from inbound import sqlfile

ROOT = Path(__file__).resolve().parent.parent
# every shipped .sql file of statements (migrations are scripts, not named blocks)
SHIPPED = sorted(p for package in ("inbound", "iys_push", "smpp_bind", "keywords")
                 for p in (ROOT / package).rglob("sql/*.sql"))


def _shipped() -> list[sqlfile.Statements]:
    return [sqlfile.load(".".join(p.relative_to(ROOT).parent.parent.parts), f"sql/{p.name}")
            for p in SHIPPED]


def test_a_block_is_its_statement_without_its_description_or_the_next_heading() -> None:
    statements = sqlfile.parse(
        "-- the file's header\n\n"
        "-- name: first\n-- what it is for\nSELECT 1\n  FROM t  -- inline, kept\n\n"
        "-- == a heading ==\n\n"
        "-- name: second\nSELECT 2\n")
    assert dict(statements) == {"first": "SELECT 1\n  FROM t  -- inline, kept\n",
                                "second": "SELECT 2\n"}
    assert statements.first == "SELECT 1\n  FROM t  -- inline, kept\n"
    with pytest.raises(AttributeError, match="no statement 'third'"):
        _ = statements.third


@pytest.mark.parametrize("text, problem", [
    ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n", "defined twice"),
    ("-- name: a\n-- only a description\n", "empty"),
    ("SELECT 1\n-- name: a\nSELECT 2\n", "before the first"),
])
def test_an_ambiguous_file_is_refused(text: str, problem: str) -> None:
    with pytest.raises(sqlfile.SqlFileError, match=problem):
        sqlfile.parse(text)


def test_no_two_shipped_statements_share_a_name() -> None:
    files = _shipped()
    assert len(files) >= 11, SHIPPED
    names = [name for statements in files for name in statements]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    assert all(statements for statements in files)


async def test_every_shipped_statement_is_accepted_by_the_migrated_schema(
    pool: asyncpg.Pool
) -> None:
    # prepared, not run: each parses and names only tables, columns and types that exist
    # (a script of several commands, such as claim_plan, cannot be prepared and is run by
    # the tests of its caller)
    async with pool.acquire() as conn:
        for statements in _shipped():
            for name, sql in statements.items():
                if ";" in sql:
                    continue
                if "{month}" in sql:  # a month's table, named by the caller (retention)
                    parent = "iys_attempt" if "iys_attempt" in sql else "sms_in"
                    sql = sql.format(month=parent)
                try:
                    await conn.prepare(sql)
                except Exception as exc:  # pragma: no cover - the failure message
                    raise AssertionError(f"{name}: {exc}") from exc


# A string literal that opens like a statement (an SQL command in capitals, then a space or a
# line break): such a string belongs in a package's .sql file, not in Python. ("LISTEN x" is
# left out: it names a connection in logs; asyncpg's add_listener sends the real one.)
_STATEMENT = re.compile(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH|SET|LOCK|DROP|CREATE|ALTER|"
                        r"TRUNCATE|COPY|VALUES)\s", re.ASCII)


def _statements_in_python(source: str) -> list[tuple[int, str]]:
    found = []
    tree = ast.parse(source)
    in_fstrings = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                   for part in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # an f-string: its leading text
            head = node.values[0] if node.values else None
            text = head.value if isinstance(head, ast.Constant) else ""
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in in_fstrings):
            text = node.value
        else:
            continue
        if _STATEMENT.match(text):
            found.append((node.lineno, text.strip().splitlines()[0][:60]))
    return found


def test_the_guard_sees_statements_and_not_prose() -> None:
    source = ('A = """\nSELECT 1\n"""\nB = f"DROP TABLE {name}"\n'
              'C = "Delete a brand"\nD = "SELECTED"\nE = "update"\n')
    assert [line for line, _ in _statements_in_python(source)] == [1, 4]


def test_no_sql_statement_is_written_in_python() -> None:
    # every statement lives in its package's .sql file (issue #26 item 2); no allowlist: a
    # statement around an identifier is a block with a {field} (retention_drop_month)
    found = [f"{path.relative_to(ROOT)}:{line}: {text}"
             for package in ("inbound", "iys_push", "smpp_bind", "keywords")
             for path in sorted((ROOT / package).rglob("*.py"))
             for line, text in _statements_in_python(path.read_text(encoding="utf-8"))]
    assert found == []


def test_every_shipped_statement_is_used() -> None:
    # a statement no module names is dead text (issue #26 item 2: dead ones deleted); read by
    # attribute, or by a name written whole in Python (retention_tables' periods), never by a
    # name built from pieces
    sources = "\n".join(path.read_text(encoding="utf-8")
                        for package in ("inbound", "iys_push", "smpp_bind", "keywords")
                        for path in (ROOT / package).rglob("*.py"))
    unused = [name for statements in _shipped() for name in statements
              if not re.search(rf"\b{name}\b", sources)]
    assert unused == []
