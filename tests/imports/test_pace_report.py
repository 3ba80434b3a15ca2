"""The import lane's pace and the bench's report of it (no database)."""

from __future__ import annotations

from bench.imports import report_lines
from iys_push.client import IysSettings
from iys_push.pusher import pause_after


def test_an_import_list_is_paced_by_the_request_budget_not_the_event_pace() -> None:
    settings = IysSettings(base_url="http://127.0.0.1:9", username="u", password="p",
                           requests_per_second=8.0, max_events_per_second=1000.0)
    assert pause_after(1000, settings) == 1.0                  # a live batch: the event pace
    assert pause_after(1000, settings, imports=True) == 0.125  # a list a request


def test_the_report_prints_every_run() -> None:
    store = {"rows": 1000, "seconds": 2.0, "rows_per_second": 500, "rss_over_idle_mib": 12,
             "loadavg": [1.0, 1.0, 1.0]}
    push = {"requests_per_second": 7.5, "share_of_budget": 0.9375, "consents_per_second": 6000}
    lines = report_lines({"store": [store, store], "push": [push, push]})
    assert sum(line.startswith("| 1 |") or line.startswith("| 2 |") for line in lines) == 2
    assert "94%" in lines[-2]
