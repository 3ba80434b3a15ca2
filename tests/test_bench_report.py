"""BENCHMARKS.md from results.json: with window 50 run several times per row, the tables and
the targets use each row's median run, and every run is listed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report


def run(client: str, window: int, rate: float, p99: float = 5.0) -> dict[str, Any]:
    return {"client": client, "mode": "window", "window": window, "rate": rate,
            "p50_ms": 1.0, "p99_ms": p99, "max_ms": 9.0, "errors": 0}


MACHINE = {"cores": 2, "cpu": "test", "os": "test", "python": "3", "node": "20",
           "npm_smpp": "0", "smpplib": "2", "asyncpg": "0", "iys_inbound": "0",
           "git_commit": "0", "loadavg_at_start": [0, 0, 0]}


def results(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"machine": MACHINE, "command": "make bench", "n": 20000, "windows": [1, 50],
            "warmup": 500, "seconds": 1.0, "loadavg_at_end": [0, 0, 0], "date": "today",
            "rows": rows}


def test_the_median_run_decides_and_every_run_is_listed() -> None:
    rows = [run("smpplib ack-only", 1, 4000),
            *(run("smpplib ack-only", 50, r) for r in (18000, 9000, 16000)),
            run("naive", 1, 1500), run("naive", 50, 1800),
            run("iys-inbound", 1, 700),
            # the fast run has the lowest p99: the median run's own latencies must be shown
            *(run("iys-inbound", 50, r, p99) for r, p99 in ((4000, 30.0), (9000, 12.0),
                                                             (12000, 3.0))),
            *(run(report.AGAIN, 50, r) for r in (17000, 20000, 2000))]
    text = "\n".join(report.smpp_lines(results(rows)))
    # median iys 9,000 against the mean of the reference's medians 16,000 and 17,000
    assert "0.5× smpplib ack-only: 0.545× (against 16,000 and 17,000 MO/s" in text
    assert "medians of 3 runs each" in text
    assert "| iys-inbound | 50 | 9,000 | 1.00 | 12.00 | 9.00 | 0 | 4,000 · 9,000 · 12,000 |" in text
    assert "| smpplib ack-only | 50 | 16,000 |" in text
    # the ratio table uses the medians too, against the same mean as the target
    assert "| 50 | 0.545× | 5.0× |" in text


def single_runs(smpplib: float, iys: float, again: float, naive: float) -> str:
    """BENCHMARKS.md's SMPP section for one window-50 run per row."""
    rows = [run("smpplib ack-only", 50, smpplib), run("iys-inbound", 50, iys),
            run(report.AGAIN, 50, again), run("naive", 50, naive)]
    return "\n".join(report.smpp_lines(results(rows)))


def test_a_single_run_per_window_reads_as_before() -> None:
    text = single_runs(18000, 9900, 15000, 1650)
    assert "| iys-inbound | 50 | 9,900 | 1.00 | 5.00 | 9.00 | 0 |  |" in text
    assert "0.5× smpplib ack-only: 0.600× (against 18,000 and 15,000 MO/s" in text
    assert "medians of" not in text


def test_a_ratio_just_under_the_target_does_not_round_up_to_it() -> None:
    text = single_runs(17577, 8673, 17383, 2319)
    assert "0.5× smpplib ack-only: 0.496× (against 17,577 and 17,383 MO/s" in text
    assert "their mean) — **not met**" in text
    assert "| 50 | 0.496× | 3.7× |" in text


def test_figures_of_uncommitted_code_say_so() -> None:
    committed = "\n".join(report.smpp_lines(results([run("iys-inbound", 50, 9000)])))
    assert "(git 0)" in committed and "uncommitted" not in committed
    dirty = results([run("iys-inbound", 50, 9000)])
    dirty["machine"] = {**MACHINE, "git_uncommitted": True}
    assert "(git 0, with uncommitted changes)" in "\n".join(report.smpp_lines(dirty))


def big_run(database: str, rate: float, wal: int, mode: str = "window") -> dict[str, Any]:
    return {"database": database, "mode": mode, "rate": rate, "p50_ms": 1.0, "p99_ms": 9.0,
            "errors": 0, "wal_bytes": wal * 20000, "wal_bytes_per_mo": wal, "wal_fpi": 10,
            "loadavg": 0.5, "offered": 1000}


def test_the_10m_section_lists_every_run_and_judges_the_medians() -> None:
    from bench import bigreport

    timing = {"median_ms": 1.0, "max_ms": 2.0, "runs": 12}
    statements = {"claim": {**timing, "claimed": 1000, "pending": 100000, "claims_per_s": 1.0},
                  "gauges": {"compliance": timing, "all_gauges": timing},
                  "reads": {key: timing for key in bigreport.READS}}
    slow = {**statements, "reads": {**statements["reads"],
                                    "web_chart_30_days": {**timing, "median_ms": 500.0}}}
    sec = {"rows": 10_000_000, "size_bytes": 14e9, "built_seconds": None, "n": 20000,
           "date": "today", "seconds": 1.0, "loadavg_at_end": [0, 0, 0], "sizes": {},
           "runs": [big_run("empty", 10000, 2500), big_run("big", 7000, 2600),
                    big_run("empty", 9000, 2500), big_run("big", 8500, 5000),
                    big_run("empty", 11000, 2500), big_run("big", 9500, 2700)],
           "statements": {"empty": statements, "big": slow},
           "earlier": [{"date": "yesterday", "rows": 10_000_000, "loadavg_at_end": None,
                        "claim_ms": {}, "runs": [big_run("big", 1234, 2600)]}]}
    text = "\n".join(bigreport.big_lines(sec))
    # medians 8,500 / 10,000, and every round's ratio
    assert "medians 0.85× (each round: 0.70 · 0.94 · 0.86) — met" in text
    assert "WAL per MO, 10,000,000 / empty ≤ 1.5×: 1.08× — met" in text
    assert text.count("| big | window 50 |") == 3 and "1,234 MO/s" in text
    assert "not: web page: events-per-day chart, 30 days — **not met**" in text


def test_the_10m_section_prints_every_runs_ratio_and_paced_p99_with_their_spread() -> None:
    from bench import bigreport

    def section_run(date: str, empty: float, full: float, p99: tuple[float, float]
                    ) -> dict[str, Any]:
        return {"date": date, "rows": 10_000_000, "loadavg_at_end": None, "claim_ms": {},
                "runs": [big_run("empty", empty, 2500), big_run("big", full, 2600),
                         {**big_run("empty", 1000, 5000, "paced"), "p99_ms": p99[0]},
                         {**big_run("big", 1000, 5000, "paced"), "p99_ms": p99[1]}]}

    sec = {**section_run("today", 10000, 9000, (16.0, 22.0)), "size_bytes": 14e9,
           "built_seconds": None, "n": 20000, "seconds": 1.0, "sizes": {}, "statements": {},
           "earlier": [section_run("monday", 10000, 7000, (670.0, 16.0)),
                       section_run("other size", 1, 1, (1.0, 1.0)) | {"rows": 1000}]}
    text = "\n".join(bigreport.big_lines(sec))
    assert "### Every run of this section (2, oldest first)" in text  # not the other size
    assert "- window 50, 10,000,000 / empty, each run: 0.70 · 0.90" in text
    assert ("- window 50, 10,000,000 / empty over 2 runs: 0.70–0.90×, median 0.80×; "
            "at or above 0.8× in 1") in text
    assert "- paced p99 on empty, each run: 670.0 · 16.0 ms" in text
    assert ("- paced p99 on empty over 2 runs: 16.0–670.0 ms, median 343.0 ms; "
            "within 50 ms in 1") in text
    assert "- paced p99 on big over 2 runs: 16.0–22.0 ms, median 19.0 ms; within 50 ms in 2" in text


def test_a_new_smpp_run_keeps_the_earlier_ones_and_the_report_prints_every_run() -> None:
    from bench import smpp_history

    def paced(p99: float, errors: int) -> dict[str, Any]:
        return {"client": "iys-inbound", "mode": "paced", "window": None, "offered": 1000,
                "rate": 1000, "p50_ms": 2.0, "p99_ms": p99, "max_ms": 99.0, "errors": errors}

    first = results([*(run("smpplib ack-only", 50, r) for r in (10000, 12000)),
                     *(run("iys-inbound", 50, r) for r in (5000, 6000)), paced(20.0, 0)])
    first["date"] = "first"
    second = results([run("smpplib ack-only", 50, 10000), run("iys-inbound", 50, 3000),
                      paced(300.0, 12)])
    second["date"] = "second"
    second["smpp_earlier"] = smpp_history.earlier_runs(first)
    third = results([run("smpplib ack-only", 50, 10000), run("iys-inbound", 50, 4000),
                     paced(30.0, 0)])
    third["smpp_earlier"] = smpp_history.earlier_runs(second)
    assert [r["date"] for r in third["smpp_earlier"]] == ["first", "second"]
    text = "\n".join(smpp_history.lines(third))
    # every run's rates and ratios (the first against the lower median of 10,000/12,000)
    assert "| first | 0 | 0 → 0 | 5,000 · 6,000 | 0.500 · 0.600 | — | 20.0 (0) |" in text
    assert "| second | 0 | 0 → 0 | 3,000 | 0.300 | — | 300.0 (12) |" in text
    assert "| today | 0 | 0 → 0 | 4,000 | 0.400 | — | 30.0 (0) |" in text
    assert "window 50 / smpplib over 4 runs: 0.300–0.600×, median 0.450×; at or above " \
           "0.5× in 2" in text
    assert "paced p99 over 3 runs: 20.0–300.0 ms, median 30.0 ms; within 50 ms in 2" in text


def test_every_partial_run_is_printed_with_the_spread_of_main_and_of_each_variant() -> None:
    from bench import partial_runs, smpp_history

    def partial(rnd: int, variant: str, shipped: bool, runs: list[int] | None,
                ratio: float | None, paced: list[float] | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "date": "d", "git": "abc", "measured": "a lever", "round": rnd,
            "variant": variant, "shipped": shipped, "w50": runs,
            "median": sorted(runs)[len(runs) // 2] if runs else None, "vs_smpplib": ratio}
        if paced is not None:
            entry["paced_p99_ms"] = paced
        return entry

    kept = [partial(1, "as shipped", True, [4000, 5000, 4500], 0.40),
            partial(1, "raw only", False, [14000, 15000, 16000], 1.05),
            partial(2, "raw only", False, [13000, 900, 14000], 0.95),  # a slow run stays
            partial(2, "as shipped", True, [5500, 6000, 6100], 0.55, paced=[20.0, 80.0])]
    first = results([run("smpplib ack-only", 50, 10000), run("iys-inbound", 50, 5000)])
    first["smpp_partial"] = kept
    second = {**results([run("smpplib ack-only", 50, 10000), run("iys-inbound", 50, 4000)]),
              "smpp_partial": first["smpp_partial"],
              "smpp_earlier": smpp_history.earlier_runs(first)}
    text = "\n".join(smpp_history.lines(second))
    assert "### Every partial run" in text
    assert "| d | abc | a lever | 2 | raw only | 13,000 · 900 · 14,000 | 13,000 | 0.950 | — |" \
        in text
    assert "| 2 | as shipped (main) | 5,500 · 6,000 · 6,100 | 6,000 | 0.550 | 20 · 80 |" in text
    assert "- main, window 50 / smpplib over 2 rounds: 0.400–0.550×, median 0.475×; at or " \
           "above 0.5× in 1" in text
    assert "- main, window 50 over 6 runs: 4,000–6,100 MO/s, median 5,250 MO/s" in text
    assert "- main, paced p99 over 2 runs: 20–80 ms, median 50 ms; within 50 ms in 1" in text
    assert "- raw only, window 50 / smpplib over 2 rounds: 0.950–1.050×, median 1.000×" in text
    assert partial_runs.lines([]) == []


def test_a_partial_run_is_kept_from_the_results_it_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import partial_runs

    written = results([*(run("smpplib ack-only", 50, r) for r in (10000, 12000, 11000)),
                       *(run("iys-inbound", 50, r) for r in (5000, 4000, 6000)),
                       run("smpplib ack-only, again", 50, 9000),
                       {"client": "iys-inbound", "mode": "paced", "window": None,
                        "offered": 1000, "rate": 1000, "p50_ms": 2.0, "p99_ms": 61.5,
                        "max_ms": 99.0, "errors": 0}])
    (tmp_path / "out.json").write_text(json.dumps(written))
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results.json").write_text(json.dumps(written))  # the full run
    monkeypatch.setattr(partial_runs, "ROOT", tmp_path)
    assert partial_runs.main([str(tmp_path / "out.json"), "--measured", "a lever",
                              "--variant", "as shipped", "--round", "2", "--main"]) == 0
    kept = json.loads((tmp_path / "bench" / "results.json").read_text())["smpp_partial"]
    # the median 5,000 against the mean of the smpplib medians 11,000 and 9,000
    assert kept == [{"date": "today", "git": "0", "measured": "a lever", "round": 2,
                     "variant": "as shipped", "shipped": True, "w50": [5000, 4000, 6000],
                     "median": 5000, "vs_smpplib": 0.5, "paced_p99_ms": [61.5]}]
    report = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| today | 0 | a lever | 2 | as shipped (main) | 5,000 · 4,000 · 6,000 | 5,000 | " \
           "0.500 | 62 |" in report
