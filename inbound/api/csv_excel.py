"""The events CSV as a spreadsheet opens it (issue #33): ``?format=excel``.

Excel in Turkish reads a CSV as the machine's code page unless it starts with a UTF-8 BOM
(``İYS`` came out garbled), and splits columns on the list separator of the locale, which
is ``;`` in Türkiye (the whole row landed in one column). So the Excel form has the BOM,
``;`` unless ``sep=comma`` is asked for, and every time in Turkey time as
``YYYY-MM-DD HH:MM:SS`` (no microseconds, no offset, which Excel would take as text), the
zone named once in the column's header. The plain form (the default) stays as scripts
read it: ISO 8601 with offsets, commas, no BOM.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from multidict import MultiMapping

from inbound.api import params
from iys_push.timefmt import TR

FORMATS = ("plain", "excel")
SEPARATORS = {"comma": ",", "semicolon": ";"}
BOM = "\ufeff"
ZONE = "Europe/Istanbul"


class Layout:
    """How one export is written: ``excel`` or not, and its separator."""

    def __init__(self, query: MultiMapping[str]) -> None:
        self.excel = params.choice(query, "format", FORMATS) == "excel"
        sep = params.choice(query, "sep", tuple(SEPARATORS))
        self.delimiter = SEPARATORS[sep or ("semicolon" if self.excel else "comma")]

    def start(self) -> str:
        return BOM if self.excel else ""

    def header(self, fields: tuple[str, ...], time_fields: frozenset[str]) -> list[str]:
        if not self.excel:
            return list(fields)
        return [f"{f} ({ZONE})" if f in time_fields else f for f in fields]

    def cell(self, value: Any) -> Any:
        """A time in Turkey time to the second; anything else unchanged (None if not)."""
        if self.excel and isinstance(value, datetime):
            return value.astimezone(TR).strftime("%Y-%m-%d %H:%M:%S")
        return None


def openapi_parameters() -> list[dict[str, Any]]:
    """The two query parameters as the OpenAPI document lists them."""
    return [
        {"name": "format", "in": "query", "required": False,
         "description": "excel: UTF-8 with BOM, ';' unless sep=comma, times in Turkey time "
                        "YYYY-MM-DD HH:MM:SS with the zone in the header; plain (default): "
                        "ISO 8601 with offsets, ','",
         "schema": {"type": "string", "enum": list(FORMATS)}},
        {"name": "sep", "in": "query", "required": False,
         "description": "the separator: comma or semicolon (default: semicolon for excel, "
                        "comma for plain)",
         "schema": {"type": "string", "enum": list(SEPARATORS)}},
    ]
