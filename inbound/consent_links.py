"""Consent and opt-out by link (issue #30): the codes, minting one or many, revoking.

A link is ``{base_url}/{code}``: the code is 11 characters of base62 (62¹¹ ≈ 2⁶⁵·⁵, so at
least 64 bits of randomness from ``secrets``), and only its SHA-256 is stored (a database
leak does not hand out working links). A personal link names its recipient; a brand-wide
link does not (the page asks for the number and checks it with a code sent by SMS:
``inbound.link_otp``). The page and the recording are ``inbound.link_confirm``.

Bulk minting (a campaign's CSV of recipients) generates codes in large slices of random
bytes mapped to base62 by ``bytes.translate`` (rejection sampling in C: bytes ≥ 248 are
dropped, the rest taken modulo 62, so every character is uniform) and writes them with
PostgreSQL's COPY, one transaction per chunk: a chunk's URLs are handed out only once they
are committed.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import itertools
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import asyncpg

from inbound import sqlfile
from iys_push import consent_rules

SQL = sqlfile.load("inbound", "sql/links.sql")

ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CODE_LENGTH = 11                       # 62**11 > 2**65: at least 64 random bits
CODE_PATTERN = re.compile(r"[0-9A-Za-z]{11}")
ACTIONS = ("RET", "ONAY", "choice")
LINK_TYPES = ("MESAJ", "ARAMA")        # a link reaches a phone: EPOSTA has no place here
CHUNK = 10_000                         # bulk: rows per COPY and per commit
# bytes 0..247 → ALPHABET[b % 62]; 248..255 are dropped (248 = 4 × 62: no bias)
_TO_BASE62 = bytes(ALPHABET[b % 62] for b in range(248)) + bytes(8)
_DROP = bytes(range(248, 256))
_MOBILE = re.compile(r"(?:\+?90|0)?(5[0-9]{9})")
_SEPARATORS = re.compile(r"[ ()./-]")


def new_codes(n: int) -> list[str]:
    """``n`` fresh codes of ``CODE_LENGTH`` uniform base62 characters each."""
    need = n * CODE_LENGTH
    out = bytearray()
    while len(out) < need:
        # 248/256 of the bytes survive; ask for a little more than the rest needs
        out += secrets.token_bytes((need - len(out)) * 33 // 32 + 16).translate(
            _TO_BASE62, _DROP)
    text = out[:need].decode("ascii")
    return [text[i:i + CODE_LENGTH] for i in range(0, need, CODE_LENGTH)]


def digest(code: str) -> bytes:
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).digest()


@lru_cache(maxsize=4096)
def _mobile_prefix_ok(prefix: str) -> bool:
    """Whether Turkish mobiles starting with these six national digits exist: the TR
    numbering plan decides a 10-digit mobile by its first five or six digits, so one
    libphonenumber check per prefix settles every number under it."""
    return consent_rules.normalise_recipient("+90" + prefix + "0000", "MESAJ") is not None


def normalise_mobile(raw: str) -> str | None:
    """A Turkish mobile number as ``+905…`` or None: the common forms by a fast path (a bulk
    file has millions), anything else by ``consent_rules.normalise_recipient``."""
    found = _MOBILE.fullmatch(_SEPARATORS.sub("", raw.strip()))
    if found is not None:
        national = found.group(1)
        return "+90" + national if _mobile_prefix_ok(national[:6]) else None
    return consent_rules.normalise_recipient(raw, "MESAJ")


@dataclass(frozen=True)
class LinkSpec:
    """What every link of one minting does."""

    brand_id: str
    action: str = "RET"
    types: tuple[str, ...] = ("MESAJ",)
    expires_at: datetime | None = None
    created_by: str = "cli"


def url_of(base_url: str, code: str) -> str:
    return base_url.rstrip("/") + "/" + code


async def mint_one(pool: asyncpg.Pool, spec: LinkSpec, recipient: str | None
                   ) -> tuple[int, str]:
    """(link id, code) of one link; ``recipient`` normalised already (None: brand-wide)."""
    while True:
        [code] = new_codes(1)
        try:
            row = await pool.fetchrow(SQL.mint, spec.brand_id, digest(code), recipient,
                                      spec.action, list(spec.types), spec.expires_at,
                                      spec.created_by)
        except asyncpg.UniqueViolationError:   # 2⁻⁶⁵ a pair: never, but never wrong
            continue
        return row["id"], code


COLUMNS = ("brand_id", "code_hash", "recipient", "action", "types", "expires_at",
           "created_by")


async def mint_many(pool: asyncpg.Pool, spec: LinkSpec, recipients: Iterable[str],
                    chunk: int = CHUNK) -> AsyncIterator[list[str]]:
    """Codes for ``recipients`` (normalised already), in order, one committed chunk at a
    time: each yielded list belongs to the same slice of ``recipients``. While PostgreSQL
    copies one chunk, the next one's codes and digests are made (the two overlap)."""
    pending: asyncio.Task[None] | None = None
    pending_codes: list[str] = []
    batch: list[str] = []
    source = iter(recipients)
    while True:
        batch = list(itertools.islice(source, chunk))
        records, codes = _records(spec, batch) if batch else ([], [])
        if pending is not None:
            await pending
            yield pending_codes
            pending = None
        if not batch:
            return
        pending, pending_codes = asyncio.create_task(_copy(pool, records)), codes


def _records(spec: LinkSpec, recipients: list[str]) -> tuple[list[tuple[Any, ...]], list[str]]:
    codes = new_codes(len(recipients))
    types = list(spec.types)
    sha256 = hashlib.sha256
    return [(spec.brand_id, sha256(code.encode()).digest(), recipient, spec.action, types,
             spec.expires_at, spec.created_by)
            for code, recipient in zip(codes, recipients, strict=True)], codes


async def _copy(pool: asyncpg.Pool, records: list[tuple[Any, ...]]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.copy_records_to_table("consent_link", records=records, columns=COLUMNS)


async def revoke(pool: asyncpg.Pool, brand_id: str, link_id: int) -> bool:
    return await pool.fetchrow(SQL.revoke, brand_id, link_id) is not None


class CsvRefused(ValueError):
    """A recipients file with lines that are not Turkish mobile numbers (each named)."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad lines")


MAX_CSV_ERRORS = 100


_SQUEEZE = str.maketrans("", "", " \t()./-")
_ALL_MOBILES = re.compile(r"^(?:\+?90|0)?(5[0-9]{9})$", re.MULTILINE)


def _one_column_fast(text: str, max_rows: int) -> list[tuple[str, str]] | None:
    """The common file (one column of mobile numbers in the usual forms) with a handful of
    C-speed passes over the whole text; None when the file needs the careful path."""
    if '"' in text or "," in text or "\r" in text:
        return None
    lines = text.split("\n")
    first = lines[0].strip().lower()
    if first == "recipient" or (first and not any(ch.isdigit() for ch in first)):
        lines = lines[1:]
    written = [line.strip() for line in lines]
    written = [w for w in written if w]
    if len(written) > max_rows:
        return None
    nationals = _ALL_MOBILES.findall("\n".join(written).translate(_SQUEEZE))
    if len(nationals) != len(written):
        return None
    if not all(_mobile_prefix_ok(p) for p in {n[:6] for n in nationals}):
        return None
    return list(zip(written, ["+90" + n for n in nationals], strict=True))


def parse_recipients(text: str, max_rows: int) -> list[tuple[str, str]]:
    """(as written, +905…) for each data row of a CSV of recipients: one column, or the
    column headed ``recipient``; a first row without that header and without a number is
    a header of another name. CsvRefused names every bad line (up to ``MAX_CSV_ERRORS``)."""
    text = text.removeprefix("\ufeff")
    fast = _one_column_fast(text, max_rows)
    if fast is not None:
        return fast
    rows = csv.reader(io.StringIO(text))
    out: list[tuple[str, str]] = []
    errors: list[tuple[int, str]] = []
    column = 0
    for line_no, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if line_no == 1:
            names = [cell.strip().lower() for cell in row]
            if "recipient" in names:
                column = names.index("recipient")
                continue
            if normalise_mobile(row[0]) is None and not any(c.isdigit() for c in row[0]):
                continue   # a header of another name
        raw = row[column].strip() if column < len(row) else ""
        number = normalise_mobile(raw) if len(raw) <= 40 else None
        if number is None:
            if len(errors) < MAX_CSV_ERRORS:
                errors.append((line_no, "not a Turkish mobile number (0532 123 45 67, "
                               "+905321234567 …)"))
            continue
        out.append((raw, number))
        if len(out) > max_rows:
            errors.append((line_no, f"at most {max_rows:,} recipients in one file"))
            break
    if errors:
        raise CsvRefused(errors)
    return out
