"""``iys-inbound run``: one asyncio process hosting links, pipeline, pusher and HTTP.

With no configuration it is the zero-config default: an embedded PostgreSQL under
``./var/``, the bundled İYS sandbox and SMSC simulator on local ports, a link bound to the
simulator and the demo brands, so that ``send-sms`` shows the whole path at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib.metadata
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from aiohttp import web

from inbound import db, metrics, retention, reviews, store, supervise
from inbound.config import Config
from inbound.http import ServiceState, create_app
from inbound.intake import RateMeter
from inbound.links import own_link, process_name
from inbound.pipeline import Pipeline
from inbound.replies import PgReplyOutbox
from inbound.webhooks import wiring as webhooks_wiring
from inbound.writer import AsyncpgWriter, BatchNotStored
from iys_push import mirror_jobs
from iys_push.pusher import IysSettings, OutboxSignal, Puller, Pusher
from keywords import RuleSet
from smpp_bind.settings import LinkSettings
from smpp_bind.simulator import Simulator

log = structlog.get_logger(__name__)

DEMO_RULES = Path(__file__).with_name("demo_rules.toml")
SIMULATOR_SYSTEM_ID = "iys-inbound"
SIMULATOR_PASSWORD = "sim-pass"   # a local toy SMSC on loopback, not a secret (≤ 8: SMPP)
SANDBOX_USERNAME = "sandbox"
SANDBOX_PASSWORD = "sandbox"      # the bundled sandbox's default account
DEMO_RECIPIENT = "+905321234567"  # the README's example phone, given ONAY earlier in the demo


@dataclass
class Running:
    """Handles to what ``start`` started, for ``stop`` and for tests."""

    config: Config
    dsn: str
    pool: asyncpg.Pool
    pipeline: Pipeline
    http_url: str
    iys_url: str
    simulator_port: int | None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    closers: list[Any] = field(default_factory=list)
    state: ServiceState | None = None
    sandbox: Any = None               # the bundled İYS sandbox, when it runs in-process


def _version() -> str:
    try:
        return importlib.metadata.version("iys-inbound")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


async def resolve_dsn(config: Config) -> str:
    if config.database_url:
        return config.database_url
    embedded = await asyncio.to_thread(db.start_embedded, config.data_dir / "pgdata")
    return embedded.uri


async def load_rules(pool: asyncpg.Pool) -> RuleSet:
    return RuleSet.from_dict(await store.load_rules_dict(pool))


async def ensure_rules(pool: asyncpg.Pool, config: Config) -> None:
    """Import the rules file (or, in the zero-config default, the demo) into an empty database."""
    if await pool.fetchval(store.SQL.count_numbers) > 0:
        return
    path = config.rules_file or (DEMO_RULES if config.uses_simulator else None)
    if path is None:
        log.warning("no keyword rules configured; every message will be 'unknown_number'")
        return
    rules = RuleSet.from_toml(path.read_text(encoding="utf-8"))
    async with pool.acquire() as conn:
        await store.replace_rules(conn, rules.to_dict())
    log.info("rules imported", file=str(path))


async def _start_sandbox(config: Config, running_closers: list[Any]) -> Any:
    from iys_push.sandbox import SandboxConfig
    from iys_push.sandbox.testing import SandboxServer

    server = SandboxServer(SandboxConfig(), host=config.iys.sandbox_host,
                           port=config.iys.sandbox_port)
    await server.__aenter__()
    running_closers.append(server)
    await _seed_demo_consent(server)
    return server


async def _seed_demo_consent(server: Any) -> None:
    """The demo recipient consented earlier (say, on ACME's web site), so RET means something."""
    from iys_push.sandbox.testing import seed_consent

    await seed_consent(server, brand_code=700001, recipient=DEMO_RECIPIENT, status="ONAY")


async def _rules_listener(dsn: str, pool: asyncpg.Pool, pipeline: Pipeline) -> None:
    """Reload the keyword rules whenever they change (NOTIFY iys_rules), in any process."""
    changed = asyncio.Event()

    async def reload_on_change() -> None:
        while True:
            await changed.wait()
            changed.clear()
            try:
                pipeline.rules = await load_rules(pool)
            except db.DATABASE_ERRORS as exc:
                log.warning("rules reload failed; retrying", error=str(exc))
                changed.set()
                await asyncio.sleep(2)

    # every (re)connect reloads: a change may have come while nobody listened
    await supervise.together({
        "rules-listen": db.listen_forever(dsn, "iys_rules", changed.set,
                                          on_connected=changed.set),
        "rules-reload": reload_on_change()})


async def _resolve_incomplete_forever(pipeline: Pipeline, timeout: float) -> None:
    while True:
        await asyncio.sleep(min(timeout / 4, 30))
        try:
            await pipeline.resolve_incomplete(timeout)
        except (*db.DATABASE_ERRORS, BatchNotStored) as exc:
            log.warning("incomplete-part resolver failed; will retry", error=str(exc))


async def start(config: Config) -> Running:
    metrics.BUILD_INFO.info({"version": _version()})
    dsn = await resolve_dsn(config)
    pool = await db.connect_pool(dsn)
    conn = await db.connect(dsn)
    try:
        await db.migrate(conn)
    finally:
        await conn.close()
    await ensure_rules(pool, config)
    rules = await load_rules(pool)

    closers: list[Any] = []
    links = list(config.links)
    simulator_port = None
    if config.uses_simulator:
        simulator = Simulator(SIMULATOR_SYSTEM_ID, SIMULATOR_PASSWORD)
        simulator_port = await simulator.start(config.simulator_host, config.simulator_port)
        closers.append(simulator)
        links = [LinkSettings(name="simulator", host=config.simulator_host, port=simulator_port,
                              system_id=SIMULATOR_SYSTEM_ID, password=SIMULATOR_PASSWORD,
                              mode="transceiver", enquire_link_interval=30,
                              reconnect_min=0.2, reconnect_max=5)]

    sandbox = None
    if config.iys.uses_sandbox:
        sandbox = await _start_sandbox(config, closers)
        iys_url = sandbox.url
        username, password = SANDBOX_USERNAME, SANDBOX_PASSWORD
    else:
        iys_url, username, password = config.iys.base_url, config.iys.username, config.iys.password

    iys_settings = IysSettings(base_url=iys_url, username=username, password=password,
                               timeout=config.iys.timeout,
                               requests_per_second=config.iys.requests_per_second,
                               batch_poll_delay=config.iys.batch_poll_delay,
                               lease_seconds=config.iys.lease_seconds,
                               max_events_per_second=config.iys.max_events_per_second,
                               yield_to_intake_above=config.iys.yield_to_intake_above,
                               yield_events_per_second=config.iys.yield_events_per_second,
                               egress_label=config.iys.egress_label)
    intake = RateMeter()  # the MO path counts, the push side yields to a wave
    pusher = Pusher(pool, dsn, iys_settings, worker_id=process_name(), intake=intake.rate)
    outbox_signal = OutboxSignal(pool, local=pusher.wake)
    outbox = PgReplyOutbox(pool)
    # MO batches, several in flight, on a pool of their own whose statements are planned
    # once (db.connect_pool, generic_plans)
    writer_pool = await db.connect_pool(dsn, min_size=2, max_size=6, generic_plans=True)
    closers.append(writer_pool)
    writer = AsyncpgWriter(writer_pool)
    closers.append(writer)
    pipeline = Pipeline(
        writer, rules,
        gsm_as_latin1={link.name: link.gsm_as_latin1 for link in links},
        redelivery_window={link.name: link.redelivery_window for link in links},
        smsc_response_window={link.name: link.smsc_response_window for link in links},
        reply_links=frozenset(link.reply_outbox for link in links if link.reply_outbox),
        reply_interval=config.reply_interval,
        replies_per_hour=config.replies_per_hour,
        on_replies=outbox.wake.set,
        on_events=outbox_signal,
        intake=intake,
    )
    state = ServiceState(pool=pool, iys_settings=iys_settings, check_settings=config.check,
                         mirror_settings=config.mirror, links=config.consent_links)
    app = create_app(state, admin_token=config.admin_token or None,
                     web_secret=config.web_secret.encode() or None,
                     trusted_proxies=config.trusted_proxies)
    webhooks_wiring.attach(app, config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, config.http_host, config.http_port)
    await site.start()
    http_port = runner.addresses[0][1]
    closers.append(runner)

    # each runs until the process stops; one that ends on a bug is logged, counted and
    # started again (inbound.supervise), never left dead in silence
    starters: dict[str, Callable[[], Awaitable[None]]] = {
        "pusher": pusher.run,
        "outbox-signal": outbox_signal.run,
        "puller": Puller(pool, iys_settings, interval=config.mirror.pull_interval).run,
        # the daily reconciliation and the mirror's gauges (iys_push.mirror_jobs)
        "mirror": lambda: mirror_jobs.run_forever(pool, iys_settings, config.mirror),
        "rules": lambda: _rules_listener(dsn, pool, pipeline),
        "incomplete": lambda: _resolve_incomplete_forever(pipeline, config.concat_timeout),
        # the review queue's automatic RET and gauges (SKIP LOCKED: every process may run it)
        "reviews": lambda: reviews.run_forever(pool),
        **webhooks_wiring.background(pool, config),  # signed webhooks to the owners' CRMs
    }
    if config.retention_enabled:  # months ahead, expired months and rows (one pass at a time)
        starters["retention"] = lambda: retention.run_forever(pool, config.retention)
    for link in links:  # partial binds this link now; a lambda would see the loop's last
        starters[f"link-{link.name}"] = functools.partial(
            own_link, dsn, pool, link, pipeline, state.link_states, outbox=outbox)
    tasks = [asyncio.create_task(supervise.keep_running(name, start), name=name)
             for name, start in starters.items()]
    return Running(config, dsn, pool, pipeline, f"http://{config.http_host}:{http_port}",
                   iys_url, simulator_port, tasks, closers, state, sandbox)


async def stop(running: Running) -> None:
    for task in running.tasks:
        task.cancel()
    await asyncio.gather(*running.tasks, return_exceptions=True)
    for closer in reversed(running.closers):
        with contextlib.suppress(Exception):
            if isinstance(closer, web.AppRunner):
                await closer.cleanup()
            elif hasattr(closer, "__aexit__"):
                await closer.__aexit__(None, None, None)
            else:
                await closer.close()
    await running.pool.close()


def banner(running: Running) -> str:
    cfg = running.config
    where_db = (f"embedded PostgreSQL in {cfg.data_dir / 'pgdata'}" if not cfg.database_url
                else db.redact_dsn(cfg.database_url))
    lines = [
        "iys-inbound is running",
        f"  HTTP        {running.http_url}  (/healthz /readyz /metrics)",
        f"  API         {running.http_url}/api/v1/  (bearer tokens: iys-inbound admin --help)",
        f"  web page    {running.http_url}/ui/  (owners sign in with e-mail and a password"
        " set by: iys-inbound admin set-password --owner ID)",
        f"  database    {where_db}",
        f"  İYS         {running.iys_url}"
        + ("  (bundled sandbox)" if cfg.iys.uses_sandbox else ""),
    ]
    if running.simulator_port is not None:
        lines += [
            f"  SMSC        bundled simulator on {cfg.simulator_host}:{running.simulator_port},"
            " link 'simulator' bound to it",
            "",
            "Try, in a second terminal:",
            '  .venv/bin/iys-inbound send-sms --from 905321234567 --to 4609 "RET ACME"',
            "  .venv/bin/iys-inbound events",
        ]
    else:
        lines.append("  SMPP links  " + ", ".join(link.name for link in cfg.links))
    return "\n".join(lines)


def freeze_startup_heap() -> None:
    """Keep what start-up built out of the cyclic garbage collector's full collections.

    A full (generation 2) collection walks every tracked object and acknowledges nothing
    meanwhile: ~70,000 objects after start-up took 44-71 ms on the bench machine, the worst
    acknowledgement stalls of the paced benchmark. Modules, classes, configuration and pools
    live as long as the process, so freezing them loses nothing (objects freed by reference
    counting still are) and a full collection takes ~10 ms.
    """
    gc.collect()
    gc.freeze()


async def serve(config: Config) -> None:
    running = await start(config)
    freeze_startup_heap()
    print(banner(running), flush=True)
    stop_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop_event.set)
    await stop_event.wait()
    log.info("shutting down")
    await stop(running)
