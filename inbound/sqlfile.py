"""Named SQL statements read from a package's ``.sql`` file, once, at import.

A file is a sequence of blocks, each opened by a line ``-- name: some_statement``; the
comment lines right after it say what the statement is for and are not sent; the rest, up
to the next ``-- name:`` line, is the statement, exactly as the server gets it. Statements
are read by attribute (``SQL.insert_part``) and never assembled from pieces: what a reader
sees in the file is what runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from importlib import resources

_NAME = re.compile(r"^-- name: ([a-z][a-z0-9_]*)\s*$")


class SqlFileError(ValueError):
    """A ``.sql`` file that the loader refuses: a repeated name, an empty block, or text
    before the first name."""


class Statements(Mapping[str, str]):
    """The statements of one file, by name; also readable as attributes."""

    def __init__(self, source: str, statements: dict[str, str]) -> None:
        self._source = source
        self._statements = statements

    def __getattr__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise AttributeError(f"{self._source} has no statement {name!r}") from None

    def __getitem__(self, name: str) -> str:
        return self._statements[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._statements)

    def __len__(self) -> int:
        return len(self._statements)


def parse(text: str, source: str = "<sql>") -> Statements:
    statements: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []

    def close() -> None:
        if name is None:
            if any(line.strip() and not line.startswith("--") for line in lines):
                raise SqlFileError(f"{source}: SQL before the first '-- name:' line")
            return
        body = list(lines)
        while body and (not body[0].strip() or body[0].startswith("--")):
            body.pop(0)  # the block's description
        while body and (not body[-1].strip() or body[-1].startswith("--")):
            body.pop()  # a heading before the next block
        sql = "\n".join(body).strip()
        if not sql:
            raise SqlFileError(f"{source}: statement {name!r} is empty")
        statements[name] = sql + "\n"

    for line in text.splitlines():
        match = _NAME.match(line)
        if match is None:
            lines.append(line)
            continue
        close()
        name, lines = match.group(1), []
        if name in statements:
            raise SqlFileError(f"{source}: statement {name!r} defined twice")
    close()
    return Statements(source, statements)


def load(package: str, filename: str) -> Statements:
    """The statements of ``filename`` (e.g. ``sql/inbound.sql``) shipped in ``package``."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return parse(text, f"{package}/{filename}")
