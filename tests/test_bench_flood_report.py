"""BENCHMARKS.md's flood section lists every run and judges the bound on each."""

from __future__ import annotations

from typing import Any

from bench import report

MACHINE = {"cores": 2, "cpu": "test", "loadavg_at_start": [0, 0, 0]}


def flood_run(rate: float, peak: int, rss_peak: float, stored: int = 1000) -> dict[str, Any]:
    return {"n": 1000, "acked": 1000, "max_uncommitted": 200, "rate": rate,
            "throttled": 5000, "sent": 6000, "uncommitted_peak": peak, "rss_before_mb": 90.0,
            "rss_peak_mb": rss_peak, "rss_after_mb": 91.0, "enquire_link_ms": 12.5,
            "closes_during": 0, "stored": {"mo_message": stored}}


def section(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"machine": MACHINE, "command": "make bench", "date": "today", "seconds": 1.0,
            "loadavg_at_end": [0, 0, 0], "runs": runs}


def test_every_flood_run_is_a_row_and_the_spread_is_given() -> None:
    text = "\n".join(report.flood_lines(section(
        [flood_run(3000, 200, 95.0), flood_run(5000, 180, 92.5)])))
    assert "| 1 | 1,000 | 200 | 3,000 | 5,000 | 6,000 | 200 | 90.0 | 95.0 | 91.0 | 12.5 |" in text
    assert "| 2 | 1,000 | 200 | 5,000 |" in text
    assert "MO/s acked: 3,000–5,000 over 2 runs; RSS growth during the flood 2.5–5.0 MB" in text
    assert "waiting never above max_uncommitted: met" in text


def test_a_run_past_the_bound_or_short_of_rows_is_not_met() -> None:
    text = "\n".join(report.flood_lines(section([flood_run(3000, 201, 95.0, stored=999)])))
    assert "waiting never above max_uncommitted: **not met**" in text
    assert "link never dropped: **not met**" in text
