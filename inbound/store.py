"""The inbound side's statements (``inbound/sql/inbound.sql``) and the keyword configuration's
load and replace.

Values always travel as parameters ($1, $2 …); no statement is built from data.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from inbound import sqlfile

SQL = sqlfile.load("inbound", "sql/inbound.sql")


async def load_rules_dict(conn: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    """The database's keyword configuration in the rules-file shape (RuleSet.from_dict)."""
    brands = []
    for row in await conn.fetch(SQL.load_brands):
        brand: dict[str, Any] = {
            "id": row["id"], "name": row["name"], "aliases": list(row["aliases"]),
            "iys_code": row["iys_code"], "brand_code": row["brand_code"],
        }
        brand.update(row["settings"] or {})
        brands.append(brand)
    numbers = []
    for row in await conn.fetch(SQL.load_numbers):
        number: dict[str, Any] = {"msisdn": row["msisdn"], "shared": row["shared"]}
        if row["brand_id"]:
            number["brand"] = row["brand_id"]
        number.update(row["settings"] or {})
        numbers.append(number)
    return {"number": numbers, "brand": brands}


_BRAND_COLUMNS = {"id", "name", "aliases", "iys_code", "brand_code", "owner"}
_NUMBER_COLUMNS = {"msisdn", "shared", "brand"}


async def replace_rules(conn: asyncpg.Connection, rules: dict[str, Any],
                        owner_id: int | None = None) -> None:
    """Replace the whole configuration with ``rules`` (already validated), all or nothing."""
    async with conn.transaction():
        await conn.execute(SQL.delete_numbers)
        existing = {r["id"] for r in await conn.fetch(SQL.all_brand_ids)}
        wanted = {b["id"] for b in rules.get("brand", [])}
        for brand in rules.get("brand", []):
            settings = {k: v for k, v in brand.items() if k not in _BRAND_COLUMNS}
            await conn.execute(
                SQL.upsert_brand,
                brand["id"], brand["name"], list(brand.get("aliases", [])),
                int(brand["iys_code"]), int(brand["brand_code"]), settings, owner_id,
            )
        # brands that have events stay (the evidence refers to them); the others go
        for gone in existing - wanted:
            await conn.execute(SQL.delete_brand_without_events, gone)
        for number in rules.get("number", []):
            settings = {k: v for k, v in number.items() if k not in _NUMBER_COLUMNS}
            await conn.execute(
                SQL.insert_number,
                number["msisdn"], bool(number.get("shared", False)), number.get("brand"),
                settings,
            )
        await conn.execute(SQL.notify_rules)
