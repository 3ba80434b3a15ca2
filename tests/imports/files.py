"""Consent files for the import tests: CSV (either separator, with or without BOM) and XLSX."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iys_push.timefmt import TR

EN = ("recipient", "type", "status", "source", "recipient_type", "consent_date")
TR_HEADERS = ("Alıcı", "Tür", "Durum", "Kaynak", "Alıcı Tipi", "İzin Tarihi")


def recent(minutes: int = 30) -> str:
    """A consent date İYS takes (within the window), as a Turkish office writes it."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).astimezone(TR).strftime(
        "%d.%m.%Y %H:%M")


def csv_bytes(rows: Sequence[Sequence[object]], *, header: Sequence[str] = EN,
              sep: str = ",", bom: bool = False) -> bytes:
    lines = [sep.join(header)] + [sep.join("" if c is None else str(c) for c in r)
                                  for r in rows]
    data = ("\r\n".join(lines) + "\r\n").encode()
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: Sequence[Sequence[object]], *, header: Sequence[str] = EN) -> bytes:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(header))
    for r in rows:
        sheet.append(list(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
