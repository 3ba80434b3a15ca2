"""PostgreSQL: the embedded default, the asyncpg pool and the migrations.

PostgreSQL is the only shared state of iys-inbound. ``DATABASE_URL`` names a server; without
it an embedded PostgreSQL (the ``pgserver`` package, which ships its own binaries) keeps its
data under ``./var/pgdata`` so that ``make run`` needs nothing installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import structlog

from inbound import store

log = structlog.get_logger(__name__)

# the source tree's migrations/ (editable installs, the repo); an installed wheel is told
# where they are by IYS_INBOUND_MIGRATIONS_DIR (the Dockerfile sets it)
MIGRATIONS_DIR = Path(
    os.environ.get("IYS_INBOUND_MIGRATIONS_DIR")
    or Path(__file__).resolve().parent.parent / "migrations"
)
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# an arbitrary constant that no other component uses for pg_advisory_xact_lock
MIGRATION_LOCK_ID = 0x1175_0001

# What a database call raises when the server or the link to it fails, or the server
# refuses a statement: its own errors, the socket's, and asyncpg's two client-side ones.
# InternalClientError is one of them: a ping sent while asyncpg is still reading a killed
# backend's FATAL message fails with it ("cannot switch to state ...") before the socket's
# end is seen. Loops that must outlive the database's outages catch exactly these, log a
# warning and try again; a refused statement (a bug in SQL) is retried and logged the same
# way, as it may also come from the database's state. Anything else ends the task, and
# inbound.supervise logs it as an error, counts it and starts the task again.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message says where and why (no password)."""


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A pgserver instance; ``uri`` connects over its Unix socket.

    ``stop`` stops the server once this process was its last user (pgserver otherwise does so
    at interpreter exit). Call it before removing ``data_dir``: a postmaster whose directory
    is gone cannot be stopped by ``pg_ctl``, lingers, and its shutdown writes to deleted files
    land on the next run's disk.
    """

    data_dir: Path
    uri: str
    stop: Callable[[], None]


def start_embedded(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded PostgreSQL whose data lives in ``data_dir``.

    pgserver keeps the server running while any process that asked for it lives, and
    shares one server between processes that name the same directory.
    """
    import pgserver  # imported here: only the zero-config default needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    return EmbeddedPostgres(data_dir=data_dir, uri=server.get_uri(), stop=server.cleanup)


def redact_dsn(dsn: str) -> str:
    """The DSN without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", dsn)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond what asyncpg always does (roll back an
    open transaction, drop listener callbacks).

    asyncpg's default runs ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`` on every release, one more round trip per MO batch. Pool connections never leave
    such session state behind: advisory locks that outlive a transaction (link ownership)
    and LISTEN (pusher, rules reload) use connections of their own (``connect``), other
    locks are ``pg_advisory_xact_lock``, cursors live inside transactions, and nothing runs
    ``SET`` on a pool connection (the claim's ``SET LOCAL`` ends with its transaction).
    """


async def connect_pool(dsn: str, *, min_size: int = 2, max_size: int = 10,
                       connect_timeout: float = 10.0,
                       generic_plans: bool = False) -> asyncpg.Pool:
    """The asyncpg pool. ``generic_plans``: every prepared statement is planned once (the MO
    batch statements, whose parameters never change the best plan). PostgreSQL otherwise
    keeps planning a statement anew at each execution when its generic plan looks costlier;
    the batch statement with its redelivery lookup (migrations/0011) fell into that and paid
    ~1.3 ms of planning a batch: window 1 went from 1.2 to 2.6 ms a message."""
    settings = {"plan_cache_mode": "force_generic_plan"} if generic_plans else None
    try:
        pool = await asyncio.wait_for(
            asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, init=_init_connection,
                command_timeout=60, reset=_keep_session, server_settings=settings,
            ),
            connect_timeout,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DatabaseUnavailable(f"cannot connect to {redact_dsn(dsn)}: {reason}") from exc
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """A single connection (LISTEN, advisory locks) with the same codecs as the pool."""
    conn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


async def hold_connection(dsn: str, on_connected: Callable[[asyncpg.Connection], Awaitable[bool]],
                          *, what: str, on_lost: Callable[[], None] | None = None,
                          ping_every: float = 5.0, ping_timeout: float = 5.0,
                          retry_after: float = 1.0) -> None:
    """The one reconnect loop for dedicated connections (LISTEN, the link-ownership lock).

    Connects, runs ``on_connected`` (which sets up the connection's session state: a
    listener, an advisory lock), then pings every ``ping_every`` seconds: such a connection
    can die silently, and an answer later than ``ping_timeout`` counts as a failure. On
    failure the connection is dropped at once, ``on_lost`` is called, and after
    ``retry_after`` seconds a new one is made and ``on_connected`` runs again. Returns when
    ``on_connected`` answers False (the caller no longer wants the connection); the
    connection is terminated then, and when cancelled."""
    while True:
        conn = None
        try:
            conn = await connect(dsn)
            if not await on_connected(conn):
                return
            while not conn.is_closed():
                await asyncio.sleep(ping_every)
                async with asyncio.timeout(ping_timeout):
                    await conn.fetchval(store.SQL.ping)  # proves the connection still answers
        except DATABASE_ERRORS as exc:
            log.warning("dedicated connection lost; reconnecting", what=what,
                        error=str(exc) or type(exc).__name__)
        finally:
            if on_lost is not None:
                on_lost()
            if conn is not None:
                conn.terminate()  # not close(): it would wait on a connection that failed
        await asyncio.sleep(retry_after)


async def listen_forever(dsn: str, channel: str, on_notify: Callable[[], None], *,
                         on_connected: Callable[[], None] | None = None,
                         on_lost: Callable[[], None] | None = None,
                         ping_every: float = 5.0, ping_timeout: float = 5.0,
                         retry_after: float = 1.0) -> None:
    """Keep a dedicated connection LISTENing on ``channel`` until cancelled
    (:func:`hold_connection`). ``on_connected`` runs after every (re)connect: whatever was
    notified while nobody listened is caught up there."""

    async def listen(conn: asyncpg.Connection) -> bool:
        await conn.add_listener(channel, lambda *_: on_notify())
        if on_connected is not None:
            on_connected()
        return True

    await hold_connection(dsn, listen, what=f"LISTEN {channel}", on_lost=on_lost,
                          ping_every=ping_every, ping_timeout=ping_timeout,
                          retry_after=retry_after)


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, Path]]:
    files = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"migration file name {path.name!r} is not NNNN_name.sql")
        files.append((path.stem, path))
    return files


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded, in order, in one transaction, under a lock.

    The advisory lock makes concurrent start-ups of several processes safe: the second one
    waits, then finds everything applied. Returns the names applied now.
    """
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute(store.SQL.migration_lock, MIGRATION_LOCK_ID)
        await conn.execute(store.SQL.create_schema_migrations)
        done = {r["version"] for r in await conn.fetch(store.SQL.applied_migrations)}
        for version, path in migration_files(directory):
            if version in done:
                continue
            await conn.execute(path.read_text(encoding="utf-8"))
            await conn.execute(store.SQL.record_migration, version)
            applied_now.append(version)
    if applied_now:
        log.info("migrations applied", versions=applied_now)
    return applied_now
