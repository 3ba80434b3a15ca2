"""Alert rules, a live /metrics scrape and the dashboard's queries (issue #7)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.stack import Stack, running_stack
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "iys-inbound.json"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool missing (Debian package prometheus)")
METRIC = re.compile(r"\biys_inbound_[a-z0-9_]+")


def promtool(*args: str, stdin: str | None = None, cwd: Path = ROOT
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


@needs_promtool
def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", str(PROMETHEUS / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 rules found" in result.stdout


@needs_promtool
def test_every_alert_has_unit_tests_and_they_pass() -> None:
    result = promtool("test", "rules", "alerts_test.yml", cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    alerts = set(re.findall(r"alert: (\w+)", (PROMETHEUS / "alerts.yml").read_text()))
    tested = set(re.findall(r"alertname: (\w+)", (PROMETHEUS / "alerts_test.yml").read_text()))
    assert alerts == tested


def test_every_alert_has_a_runbook_section() -> None:
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z-]+)"></a>\n## ', runbook))
    urls = re.findall(r'runbook_url: "docs/runbook.md#([a-z-]+)"',
                      (PROMETHEUS / "alerts.yml").read_text())
    assert len(urls) == 8 and set(urls) <= anchors


def test_dashboard_file_is_what_the_generator_writes() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("dashboard", DASHBOARD.with_name(
        "dashboard.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert json.loads(DASHBOARD.read_text(encoding="utf-8")) == module.build()


def test_every_panel_has_a_description() -> None:
    panels = [p for p in json.loads(DASHBOARD.read_text())["panels"] if p["type"] != "row"]
    assert panels and all(p.get("description") for p in panels)


@pytest.fixture
async def scraped(dsn: str) -> AsyncIterator[tuple[Stack, str]]:
    async with running_stack(dsn) as stack:
        seq = await stack.smsc.deliver(source_addr="905321234567", source_addr_ton=1,
                                       destination_addr="4609", data_coding=0,
                                       short_message=b"IZIN ACME")
        await stack.smsc.wait_resp(seq)
        await wait_until(lambda: stack.count(
            "SELECT count(*) FROM consent_event WHERE state = 'accepted'"), what="accepted")
        async with aiohttp.ClientSession() as http:
            async def scrape() -> str:
                async with http.get(stack.running.http_url + "/metrics") as resp:
                    return await resp.text()
            # the gauges are refreshed every few seconds by the pusher
            text = await wait_until(lambda: _with(scrape, "iys_inbound_backlog_events"),
                                    what="gauges")
        yield stack, text


async def _with(scrape, name: str) -> str | None:  # type: ignore[no-untyped-def]
    text = await scrape()
    return text if name in text else None


@needs_promtool
async def test_live_metrics_pass_promtool_check_metrics(scraped: tuple[Stack, str]) -> None:
    _, text = scraped
    result = promtool("check", "metrics", stdin=text)
    # promtool reports lint problems on stdout/stderr and exits non-zero for them
    assert result.returncode == 0, result.stdout + result.stderr


async def test_every_metric_a_panel_queries_exists(scraped: tuple[Stack, str]) -> None:
    _, text = scraped
    exposed = set(re.findall(r"^(iys_inbound_[a-z0-9_]+)", text, re.M))
    # a labelled family with no child yet has no sample, only its TYPE line: count it too
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
                "gauge": ("",), "info": ("_info",), "summary": ("_sum", "_count")}
    for name, kind in re.findall(r"^# TYPE (iys_inbound_[a-z0-9_]+) (\w+)", text, re.M):
        exposed |= {name, *(name + suffix for suffix in suffixes.get(kind, ("",)))}
    queried = {m for p in json.loads(DASHBOARD.read_text())["panels"]
               for t in p.get("targets", []) for m in METRIC.findall(t["expr"])}
    alerts = set(METRIC.findall((PROMETHEUS / "alerts.yml").read_text()))
    missing = sorted((queried | alerts) - exposed)
    assert not missing, f"queried but not exposed: {missing}"
    assert "iys_inbound_build_info" in exposed
