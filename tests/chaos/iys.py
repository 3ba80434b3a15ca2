"""The İYS side of the chaos tests: the sandbox as a process of its own, driven through its
``/_sandbox/`` knobs, and the service's ``/metrics`` read the way Prometheus reads them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import IYS_INBOUND, free_port, wait_listening
from tests.waiting import wait_until

BRAND_CODE = 700001


@dataclass
class SandboxProcess:
    url: str

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        async with aiohttp.ClientSession() as s, s.request(method, self.url + path,
                                                           json=body) as r:
            assert r.status == 200, f"{method} {path}: {r.status} {await r.text()}"
            return await r.json()

    async def state(self) -> dict[str, Any]:
        return await self._call("GET", "/_sandbox/state")

    async def now(self) -> datetime:
        return datetime.fromisoformat((await self.state())["now"])

    async def faults(self, **knobs: Any) -> dict[str, Any]:
        return await self._call("POST", "/_sandbox/faults", knobs)

    async def advance_clock(self, seconds: float) -> datetime:
        return datetime.fromisoformat(
            (await self._call("POST", "/_sandbox/clock", {"advance": seconds}))["now"])

    async def seed_onay(self, recipients: list[str]) -> None:
        await self._call("POST", "/_sandbox/seed",
                         {"brandCode": BRAND_CODE, "recipients": recipients})

    async def movements_per_key(self) -> dict[str, int]:
        return dict((await self.state())["movements_per_key"])


def key(recipient: str) -> str:
    """The sandbox's per-key counter name of a recipient (brand ACME, BIREYSEL, MESAJ)."""
    return f"{BRAND_CODE}|{recipient}|BIREYSEL|MESAJ"


@contextlib.asynccontextmanager
async def sandbox_process(batch_result_delay: float = 1.0) -> AsyncIterator[SandboxProcess]:
    """``iys-inbound sandbox-iys`` as a subprocess (İYS is remote in production)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(IYS_INBOUND), "sandbox-iys", "--port", str(port), "--batch-result-delay",
        str(batch_result_delay), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    try:
        await wait_listening(port)
        yield SandboxProcess(f"http://127.0.0.1:{port}")
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


class Metrics:
    """One scrape of ``/metrics``: samples by name, with their labels."""

    def __init__(self, text: str) -> None:
        self.samples: list[tuple[str, dict[str, str], float]] = [
            (s.name, dict(s.labels), s.value)
            for family in text_string_to_metric_families(text) for s in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """Sum over the samples of ``name`` whose labels include ``labels``."""
        return sum(v for n, lab, v in self.samples
                   if n == name and all(lab.get(k) == x for k, x in labels.items()))

    def total(self, name: str, where: Callable[[dict[str, str]], bool]) -> float:
        return sum(v for n, lab, v in self.samples if n == name and where(lab))


async def scrape(url: str) -> Metrics:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        assert r.status == 200
        return Metrics(await r.text())


async def wait_metrics(url: str, predicate: Callable[[Metrics], bool], timeout: float,
                       what: str) -> Metrics:
    async def probe() -> Metrics | None:
        with contextlib.suppress(aiohttp.ClientError):
            m = await scrape(url)
            return m if predicate(m) else None
        return None

    return await wait_until(probe, timeout=timeout, what=what)
