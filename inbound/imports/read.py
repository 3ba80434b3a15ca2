"""Reading a consent file (issue #31): CSV or XLSX, row by row, never whole in memory.

A file is recognised by its first bytes (an XLSX is a zip: ``PK\\x03\\x04``); anything else is
read as CSV in UTF-8, with or without a byte-order mark, its separator (``;`` or ``,``) the
one the header line holds more of. XLSX is read with openpyxl in read-only mode, which parses
the sheet's XML as a stream (docs/DESIGN-NOTES.md says why openpyxl).

Columns are found by their header, in Turkish or English, in any case, with or without
Turkish letters (``alıcı``, ``ALICI``, ``alici``, ``recipient``); columns with other headers
are ignored (a CRM export carries names and notes). Each row comes out as a dict of the
canonical field names (``FIELDS``) to the cell's text (``None`` when empty).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import IO, Any

FIELDS = ("recipient", "type", "status", "source", "recipient_type", "consent_date")
REQUIRED = ("recipient", "type", "status")
MAX_FIELD = 1000                # characters a cell may hold (a recipient is at most 300)
HEADER_NAMES = {
    "recipient": ("alıcı", "recipient", "alıcı adresi", "iletişim adresi"),
    "type": ("tür", "type", "izin türü"),
    "status": ("durum", "status", "izin durumu"),
    "source": ("kaynak", "source", "izin kaynağı"),
    "recipient_type": ("alıcı tipi", "recipient type", "recipient_type", "alıcı türü"),
    "consent_date": ("izin tarihi", "consent date", "consent_date", "tarih"),
}
_ASCII = str.maketrans("ıİğĞüÜşŞöÖçÇ", "iigguussoocc")


class FileRefused(ValueError):
    """The file as a whole cannot be read (not UTF-8, no header, a required column missing);
    nothing of it is stored."""


def _header_key(raw: str) -> str:
    text = raw.replace("İ", "i").replace("I", "ı").lower()  # Turkish casing first
    text = re.sub(r"[\s_\-]+", " ", text).strip()
    return text.translate(_ASCII)


_BY_HEADER = {_header_key(name).replace("ı", "i"): field
              for field, names in HEADER_NAMES.items() for name in names}


def columns_of(header: list[Any]) -> dict[str, int]:
    """Canonical field → column index; FileRefused when a required one is missing."""
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        if cell is None:
            continue
        key = _header_key(str(cell)).replace("ı", "i")
        name = _BY_HEADER.get(key)
        if name is not None and name not in found:
            found[name] = index
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted = ", ".join(f"{HEADER_NAMES[f][0]} / {HEADER_NAMES[f][1]}" for f in missing)
        every = ", ".join(n[0] + "/" + n[1] for n in HEADER_NAMES.values())
        raise FileRefused(f"the header row has no column {wanted} (headers may be Turkish or "
                          f"English: {every})")
    return found


def cell_text(value: Any) -> str | None:
    """A cell as text: numbers without a decimal tail (a phone number typed into Excel is a
    number), dates in ISO form (read as Turkey time later), empty as None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time()).isoformat()
    text = str(value).strip()
    return text[:MAX_FIELD] if text else None


def _record(row: list[Any], columns: dict[str, int]) -> dict[str, str | None]:
    return {name: cell_text(row[i]) if i < len(row) else None
            for name, i in columns.items()}


def _csv_record(row: list[str], columns: dict[str, int]) -> dict[str, str | None]:
    """``_record`` for a CSV row, whose cells are always text (cell_text's other cases
    cost ~1 µs a cell for nothing)."""
    out: dict[str, str | None] = {}
    for name, i in columns.items():
        text = row[i].strip() if i < len(row) else ""
        out[name] = text[:MAX_FIELD] if text else None
    return out


def kind_of(head: bytes) -> str:
    return "xlsx" if head.startswith(b"PK\x03\x04") else "csv"


def rows(stream: IO[bytes]) -> Iterator[dict[str, str | None]]:
    """The rows of a seekable binary file (CSV or XLSX), header excluded, blank rows
    skipped; FileRefused when the file cannot be read at all."""
    head = stream.read(4)
    stream.seek(0)
    if kind_of(head) == "xlsx":
        yield from _xlsx_rows(stream)
    else:
        yield from _csv_rows(stream)


def _csv_rows(stream: IO[bytes]) -> Iterator[dict[str, str | None]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        first = text.readline()
        delimiter = ";" if first.count(";") > first.count(",") else ","
        header = next(csv.reader([first], delimiter=delimiter), [])
        columns = columns_of(header)
        line = 1
        for row in csv.reader(text, delimiter=delimiter):
            line += 1
            if any(cell.strip() for cell in row):
                yield _csv_record(row, columns)
    except UnicodeDecodeError as exc:
        raise FileRefused("the file is not UTF-8 text: save it as 'CSV UTF-8' "
                          f"({exc.reason} at byte {exc.start} of a block)") from None
    except csv.Error as exc:
        raise FileRefused(f"not a readable CSV file: {exc}") from None
    finally:
        text.detach()


def _xlsx_rows(stream: IO[bytes]) -> Iterator[dict[str, str | None]]:
    from openpyxl import load_workbook
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # a damaged zip or workbook fails in many ways: all are a 422
        raise FileRefused(f"not a readable XLSX workbook: {type(exc).__name__}: "
                          f"{str(exc)[:200]}") from None
    try:
        if not book.worksheets:
            raise FileRefused("the workbook has no sheet")
        it = book.worksheets[0].iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise FileRefused("the first sheet is empty: it needs a header row")
        columns = columns_of(list(header))
        for row in it:
            if any(cell is not None and str(cell).strip() for cell in row):
                yield _record(list(row), columns)
    except FileRefused:
        raise
    except Exception as exc:  # broken sheet XML (ParseError is a SyntaxError) and the like
        raise FileRefused(f"the workbook's first sheet cannot be read: "
                          f"{type(exc).__name__}: {str(exc)[:200]}") from None
    finally:
        book.close()
