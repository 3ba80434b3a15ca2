"""Alert rules, the Grafana dashboard, and a live /metrics scrape (issue #7).

Tests that run promtool are skipped when it is missing (Debian package ``prometheus``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.stack import Stack, running_stack
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS / "alerts.yml"
RULE_TESTS = (PROMETHEUS / "alerts_test.yml", PROMETHEUS / "alerts_test_weekly.yml")
DASHBOARD = ROOT / "deploy" / "grafana" / "iys-inbound.json"
RUNBOOK = ROOT / "docs" / "runbook.md"
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool missing (Debian package prometheus)")
METRIC = re.compile(r"\biys_inbound_[a-z0-9_]+")
SENDER = "905321234567"
# queried families that one accepted SMS need not give a sample: trouble, or İYS already
# holding the state
NOT_AFTER_ONE_SMS = {"iys_inbound_smpp_bind_failures_total", "iys_inbound_iys_retries_total",
                     "iys_inbound_iys_business_failures_total",
                     "iys_inbound_events_not_sent_total"}


def promtool(*args: str, stdin: str | None = None, cwd: Path = ROOT
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=60, check=False)


def alert_blocks() -> dict[str, str]:
    """Each alert's name and its text in alerts.yml (the file has one rule per block)."""
    parts = re.split(r"^\s*- alert: ", ALERTS.read_text(encoding="utf-8"), flags=re.M)[1:]
    return {part.split("\n", 1)[0].strip(): part for part in parts}


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in items:
        yield panel
        yield from panels(panel.get("panels", []))  # a collapsed row keeps its panels inside


def panel_exprs() -> list[str]:
    return [t["expr"] for p in panels(dashboard()["panels"]) for t in p.get("targets", [])]


# -- alert rules ------------------------------------------------------------------------------


@needs_promtool
def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(alert_blocks())} rules found" in result.stdout


@needs_promtool
def test_alert_unit_tests_pass() -> None:
    result = promtool("test", "rules", *(p.name for p in RULE_TESTS), cwd=PROMETHEUS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS), result.stdout


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for name, empty in re.findall(r"alertname: (\w+)\n\s*exp_alerts:( \[\])?",
                                      path.read_text(encoding="utf-8")):
            (silent if empty else firing).add(name)
    alerts = set(alert_blocks())
    assert len(alerts) >= 9
    assert alerts - firing == set(), "never tested firing"
    assert alerts - silent == set(), "never tested silent"


def test_every_alert_has_severity_summary_description_and_runbook_section() -> None:
    runbook = RUNBOOK.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([a-z-]+)"></a>\n## \S', runbook))
    urls = []
    for name, block in alert_blocks().items():
        assert re.search(r"severity: (page|warning|critical)\b", block), name
        assert re.search(r'summary: "[^"]{10,}"', block), name
        assert re.search(r'description: "[^"]{60,}"', block), name
        url = re.search(r'runbook_url: "docs/runbook.md#([a-z-]+)"', block)
        assert url and url.group(1) in anchors, name
        urls.append(url.group(1))
    assert len(set(urls)) == len(urls), "two alerts share a runbook section"


# -- dashboard --------------------------------------------------------------------------------


def test_dashboard_file_is_what_the_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("dashboard", DASHBOARD.with_name(
        "dashboard.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert dashboard() == module.build()


def test_dashboard_is_an_importable_model_with_the_required_rows() -> None:
    model = dashboard()
    assert [i["name"] for i in model["__inputs"]] == ["DS_PROMETHEUS"]
    assert model["__inputs"][0]["pluginId"] == "prometheus"
    everything = list(panels(model["panels"]))
    ids = [p["id"] for p in everything]
    assert len(ids) == len(set(ids))
    assert [p["title"] for p in everything if p["type"] == "row"] == [
        "Links", "Inbound", "Keywords", "İYS", "Compliance"]
    cells: set[tuple[int, int]] = set()
    for panel in everything:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"])
                for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert len(panel.get("description", "")) >= 20, panel["title"]
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert METRIC.search(target["expr"]), target["expr"]


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    rules = "groups:\n  - name: dashboard\n    rules:\n" + "".join(
        f"      - record: dashboard:q{i}\n        expr: {json.dumps(expr)}\n"
        for i, expr in enumerate(panel_exprs()))
    (tmp_path / "dashboard_rules.yml").write_text(rules, encoding="utf-8")
    result = promtool("check", "rules", "dashboard_rules.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# -- live scrape ------------------------------------------------------------------------------


def series_names(text: str) -> tuple[set[str], set[str]]:
    """(names a query may use, names that have a sample) in an exposition.

    A family without a sample yet still counts as queryable, under the names its type gives
    its samples: ``x_total`` for a counter, ``x_bucket/_sum/_count`` for a histogram — never
    the bare histogram name, never ``x_total_total``.
    """
    queryable: set[str] = set()
    sampled: set[str] = set()
    derived = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
               "summary": ("", "_sum", "_count"), "info": ("_info",)}
    for family in text_string_to_metric_families(text):
        queryable |= {family.name + suffix for suffix in derived.get(family.type, ("",))}
        sampled |= {sample.name for sample in family.samples}
    return queryable | sampled, sampled


def test_series_names_resolves_suffixes_by_type() -> None:
    text = ("# TYPE a_seconds histogram\n# TYPE b_total counter\n# TYPE c gauge\n"
            "c 1\n# TYPE d_total counter\nd_total 2\n")
    queryable, sampled = series_names(text)
    assert {"a_seconds_bucket", "a_seconds_sum", "a_seconds_count", "b_total", "c",
            "d_total"} <= queryable
    assert not {"a_seconds", "b", "b_total_total", "c_total", "c_sum", "d"} & queryable
    assert sampled == {"c", "d_total"}


@pytest.fixture
async def scraped(dsn: str) -> AsyncIterator[tuple[Stack, str]]:
    async with running_stack(dsn) as stack:
        seq = await stack.smsc.deliver(source_addr=SENDER, source_addr_ton=1,
                                       destination_addr="4609", data_coding=0,
                                       short_message=b"IZIN ACME")
        await stack.smsc.wait_resp(seq)
        await wait_until(lambda: stack.count(
            "SELECT count(*) FROM consent_event WHERE state = 'accepted'"), what="accepted")
        async with aiohttp.ClientSession() as http:
            async def scrape() -> str | None:
                async with http.get(stack.running.http_url + "/metrics") as resp:
                    assert resp.status == 200
                    text = await resp.text()
                # the pusher refreshes the backlog gauges every few seconds
                done = re.search(r"^iys_inbound_events_finished_total\{.*\} ", text, re.M)
                return text if done and "\niys_inbound_backlog_events 0.0" in text else None
            text = await wait_until(scrape, what="a scrape after the event was accepted")
        yield stack, text


@needs_promtool
async def test_live_metrics_pass_promtool_check_metrics(scraped: tuple[Stack, str]) -> None:
    _, text = scraped
    result = promtool("check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_one_sms_leaves_its_labelled_series_and_no_phone_number(
        scraped: tuple[Stack, str]) -> None:
    _, text = scraped
    got = samples(text)

    def value(name: str, **labels: str) -> float:
        return got.get((name, frozenset(labels.items())), -1.0)

    assert value("iys_inbound_smpp_bound", link="peer") == 1
    assert value("iys_inbound_mo_messages_total", number="4609", outcome="consent") >= 1
    assert value("iys_inbound_consent_events_created_total", brand="acme", status="ONAY") >= 1
    assert value("iys_inbound_events_finished_total", brand="acme", status="ONAY",
                 state="accepted") >= 1
    assert value("iys_inbound_smpp_pdus_total", link="peer", direction="in",
                 command="deliver_sm", status="0x00") >= 1
    assert value("iys_inbound_ack_seconds_count", link="peer") >= 1
    assert value("iys_inbound_push_latency_seconds_count") >= 1
    assert value("iys_inbound_iys_token_state") == 1
    assert value("iys_inbound_listen_healthy") == 1
    assert value("iys_inbound_events_overdue") == 0
    assert value("iys_inbound_ret_deadline_nearest_seconds") > 86400  # no pending RET
    assert value("iys_inbound_review_deadline_nearest_seconds") > 86400  # no review waiting
    assert value("iys_inbound_reviews_pending") == 0
    assert 0.9 <= value("iys_inbound_iys_success_ratio_24h", egress="default") <= 1
    pushed = {dict(labels)["endpoint"] for (name, labels), v in got.items()
              if name == "iys_inbound_iys_responses_total" and v >= 1
              and dict(labels)["status"].startswith("2")}
    assert pushed - {"token", "pull"}, pushed  # the consent went out and İYS answered
    assert [v for (name, _), v in got.items() if name == "iys_inbound_build_info"] == [1]
    assert SENDER[2:] not in text  # never a phone number, in any form


async def test_every_metric_a_panel_or_alert_queries_exists(
        scraped: tuple[Stack, str]) -> None:
    _, text = scraped
    queryable, sampled = series_names(text)
    queried = {m for expr in panel_exprs() for m in METRIC.findall(expr)}
    alerted = set(METRIC.findall(ALERTS.read_text(encoding="utf-8")))
    assert len(queried) >= 20
    missing = sorted((queried | alerted) - queryable)
    assert not missing, f"queried but not exposed: {missing}"
    empty = sorted(queried - sampled - NOT_AFTER_ONE_SMS)
    assert not empty, f"queried but without a sample after one SMS: {empty}"


def test_a_fresh_process_reports_no_deadline_due_and_no_failures() -> None:
    """Before the pusher's first measurement the gauges must not read as an emergency."""
    script = ("import iys_push.metrics, inbound.metrics\n"
              "from prometheus_client import generate_latest\n"
              "print(generate_latest().decode())")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    values = {s.name: s.value for f in text_string_to_metric_families(out) for s in f.samples}
    assert values["iys_inbound_ret_deadline_nearest_seconds"] >= 86400 * 30
    assert values["iys_inbound_review_deadline_nearest_seconds"] >= 86400 * 30
    # the success ratio is per egress label, computed from the stored attempts: no series
    # before the first computation (an absent series fires no alert; never a false 0)
    assert "iys_inbound_iys_success_ratio_24h" not in values
