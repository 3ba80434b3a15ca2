"""The web page's own statements, read once from ``inbound/web/sql/web.sql``: sessions,
sign-in lock-out and the events-per-day chart (everything else through the API's)."""

from __future__ import annotations

from inbound import sqlfile

SQL = sqlfile.load("inbound.web", "sql/web.sql")
