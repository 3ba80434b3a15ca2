"""The API's statements, read once from ``inbound/api/sql/api.sql`` (see inbound.sqlfile)."""

from __future__ import annotations

from inbound import sqlfile

SQL = sqlfile.load("inbound.api", "sql/api.sql")
