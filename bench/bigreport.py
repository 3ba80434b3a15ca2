"""BENCHMARKS.md's "big" section from results.json["big"] (bench/big.py): every run listed,
the ratios' spread, the targets of issues #26 and #27 (reported, not asserted)."""

from __future__ import annotations

import statistics
from typing import Any

from bench.ratios import each, spread

TARGET_RATE_RATIO = 0.8      # window 50 on the big database / on the empty one
TARGET_WAL_RATIO = 1.5       # WAL per MO, big / empty
TARGET_CLAIM_RATIO = 2.0     # claim latency, 100,000 waiting / empty outbox
TARGET_GAUGE_RATIO = 2.0     # compliance gauges, 100,000 waiting / empty outbox
TARGET_READ_MS = 100.0
TARGET_PACED_P99_MS = 50.0

READS = {
    "events_list": "events list (50 newest)",
    "events_by_recipient": "events list, recipient filter",
    "events_by_status": "events list, status filter",
    "events_pending": "events list, state filter (pending)",
    "events_one_day_a_month_ago": "events list, one day a month ago",
    "csv_first_row": "CSV export, first page (1,000 rows)",
    "csv_from_300_days_back": "CSV export from 300 days back, first page",
    "csv_from_30_days_back": "CSV export from 30 days back, first page",
    "recipient_history": "recipient history (5 statements)",
    "messages_list": "messages list (50 newest)",
    "web_chart_30_days": "web page: events-per-day chart, 30 days",
}


def _ok(flag: bool) -> str:
    return "met" if flag else "**not met**"


def _runs(sec: dict[str, Any], database: str, mode: str = "window") -> list[dict[str, Any]]:
    return [r for r in sec["runs"] if r["database"] == database and r["mode"] == mode]


def _rate_ratio(sec: dict[str, Any]) -> float | None:
    """A run's judgement of window 50: the big database's median MO/s over the empty one's."""
    empty, full = _runs(sec, "empty"), _runs(sec, "big")
    if not (empty and full):
        return None
    return (statistics.median(r["rate"] for r in full)
            / statistics.median(r["rate"] for r in empty))


def _spread_lines(sec: dict[str, Any], big: str) -> list[str]:
    """Every run of the section, the one above and the earlier ones, oldest first: each
    run's figures and their spread, so that no run is chosen."""
    every = [e for e in sec.get("earlier", []) if e.get("rows") == sec["rows"]] + [sec]
    lines = ["", f"### Every run of this section ({len(every)}, oldest first)", ""]
    ratios = [x for x in map(_rate_ratio, every) if x is not None]
    if ratios:
        lines += [f"- window 50, {big} / empty, each run: {each(ratios, '{:.2f}')}",
                  spread(f"window 50, {big} / empty over {len(ratios)} runs", ratios,
                         "{:.2f}", "×", at_least=TARGET_RATE_RATIO)]
    for database in ("empty", "big"):
        p99 = [r["p99_ms"] for run in every for r in _runs(run, database, "paced")]
        if p99:
            lines += [f"- paced p99 on {database}, each run: {each(p99, '{:.1f}')} ms",
                      spread(f"paced p99 on {database} over {len(p99)} runs", p99, "{:.1f}",
                             " ms", at_most=TARGET_PACED_P99_MS)]
    return lines


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def big_lines(sec: dict[str, Any]) -> list[str]:
    big = f"{sec['rows']:,}"
    lines = [
        f"## At {big} stored messages",
        "",
        "`bench/big.py`: one embedded cluster under `var/bench-big/`, holding an empty "
        f"database and one built once with {big} messages, PDUs and consent events "
        "(`bench/bigdata.py`: a year of receipt times, random senders, 99 % accepted, the "
        "newest 1 % pending of which 1 in 100 due and the rest waiting for a later attempt). "
        "Window-50 runs alternate between the two databases, each a fresh `iys-inbound run` "
        "after 500 warm-up messages and a CHECKPOINT; WAL from `pg_stat_wal` around each run.",
        "",
        f"- date: {sec['date']}; section {sec['seconds']} s; load average at end "
        f"{sec['loadavg_at_end']}",
        f"- big database: {sec['size_bytes'] / 1e9:.2f} GB"
        + (f", built in {sec['built_seconds']:.0f} s" if sec.get("built_seconds") else
           ", reused (built by an earlier run)"),
        "",
        "### Window 50 and paced, every run in the order it ran",
        "",
        "| database | mode | MO/s | p50 ms | p99 ms | errors | WAL MB | WAL B/MO | full-page "
        "images | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sec["runs"]:
        mode = "window 50" if r["mode"] == "window" else f"paced {r.get('offered', '')}/s"
        lines.append(f"| {r['database']} | {mode} | {r['rate']:,.0f} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['errors']} | {_mb(r['wal_bytes'])} | "
                     f"{r['wal_bytes_per_mo']:,} | {r['wal_fpi']:,} | {r['loadavg']:.2f} |")
    for earlier in sec.get("earlier", []):
        if earlier.get("rows") != sec["rows"]:
            continue
        lines += ["", f"Earlier run of this section ({earlier['date']}, load average at end "
                  f"{earlier.get('loadavg_at_end')}; claim medians {earlier.get('claim_ms')}):",
                  ""]
        lines += [f"- {r['database']} {r['mode']}: {r['rate']:,.0f} MO/s, p99 "
                  f"{r['p99_ms']:.2f} ms, WAL {r['wal_bytes_per_mo']:,} B/MO, "
                  f"{r['wal_fpi']:,} FPI, load {r['loadavg']:.2f}" for r in earlier["runs"]]
    empty, full = _runs(sec, "empty"), _runs(sec, "big")
    lines += _spread_lines(sec, big)
    lines += ["", "### Targets (reported, not asserted)", ""]
    med = _rate_ratio(sec)
    if med is not None:
        ratios = [f["rate"] / e["rate"] for e, f in zip(empty, full, strict=False)]
        lines.append(f"- window 50, {big} / empty ≥ {TARGET_RATE_RATIO}×: medians "
                     f"{med:.2f}× (each round: {' · '.join(f'{x:.2f}' for x in ratios)}) — "
                     f"{_ok(med >= TARGET_RATE_RATIO)}")
        wal = statistics.median(r["wal_bytes_per_mo"] for r in full) / statistics.median(
            r["wal_bytes_per_mo"] for r in empty)
        lines.append(f"- WAL per MO, {big} / empty ≤ {TARGET_WAL_RATIO}×: {wal:.2f}× — "
                     f"{_ok(wal <= TARGET_WAL_RATIO)}")
    for r in sec["runs"]:
        if r["mode"] == "paced":
            lines.append(f"- paced p99 ≤ {TARGET_PACED_P99_MS:.0f} ms on {r['database']}: "
                         f"{r['p99_ms']:.2f} ms — {_ok(r['p99_ms'] <= TARGET_PACED_P99_MS)}"
                         + (f" (non-OK answers by command_status: {r['statuses']})"
                            if r.get("statuses") else ""))
    stalled = [r for r in sec["runs"] if r.get("stalls_ms")]
    if stalled:
        lines += ["", "The machine's stalls during each run (PSI, ms: some task waiting for the "
                  "disk / all waiting for it / some waiting for a core; other helpers share "
                  "the machine):", ""]
        lines += [f"- {r['database']} {r['mode']}: io {r['stalls_ms'].get('io_some_ms', 0):,} / "
                  f"{r['stalls_ms'].get('io_full_ms', 0):,}, cpu "
                  f"{r['stalls_ms'].get('cpu_some_ms', 0):,} in {r['seconds']:.1f} s"
                  for r in stalled]
        lines.append("")
    warned = [r for r in sec["runs"] if r.get("log_warnings")]
    if warned:
        lines += ["", "Service warnings during the runs (JSON log, by event):", ""]
        lines += [f"- {r['database']} {r['mode']}: {r['log_warnings']}" for r in warned]
        lines.append("")
    st = sec["statements"]
    if "empty" in st and "big" in st:
        ce, cf = st["empty"]["claim"], st["big"]["claim"]
        ratio = cf["median_ms"] / ce["median_ms"] if ce["median_ms"] else float("inf")
        lines.append(f"- claim of 1,000 with {cf['pending']:,} pending ({cf['claimed']:,} due) "
                     f"within {TARGET_CLAIM_RATIO:.0f}× of an outbox with only "
                     f"{ce['claimed']:,} due: {cf['median_ms']:.1f} vs {ce['median_ms']:.1f} ms "
                     f"({ratio:.2f}×) — {_ok(ratio <= TARGET_CLAIM_RATIO)}")
        ge, gf = st["empty"]["gauges"]["compliance"], st["big"]["gauges"]["compliance"]
        g_ratio = gf["median_ms"] / ge["median_ms"] if ge["median_ms"] else float("inf")
        lines.append(f"- compliance gauges with {cf['pending']:,} pending within "
                     f"{TARGET_GAUGE_RATIO:.0f}× of an empty outbox: {gf['median_ms']:.2f} vs "
                     f"{ge['median_ms']:.2f} ms ({g_ratio:.2f}×) — "
                     f"{_ok(g_ratio <= TARGET_GAUGE_RATIO)}")
        slow = [k for k, v in st["big"]["reads"].items() if v["median_ms"] > TARGET_READ_MS]
        lines.append(f"- reads < {TARGET_READ_MS:.0f} ms at {big} (median): "
                     + ("all" if not slow else "not: " + ", ".join(READS.get(k, k)
                                                                   for k in slow))
                     + f" — {_ok(not slow)}")
        lines += ["", "### Pusher, gauges and API reads (ms: median / slowest of "
                  f"{cf['runs']} executions)", "",
                  f"| statement | empty | {big} |", "|---|---:|---:|"]
        pairs = [("claim of 1,000 (rolled back)", "claim", None),
                 ("gauge loop's compaction (tally and clock)", "gauges", "compaction"),
                 ("compliance gauge", "gauges", "compliance"),
                 ("all outbox gauges", "gauges", "all_gauges"),
                 *((label, "reads", key) for key, label in READS.items())]
        for label, group, key in pairs:
            if key is not None and key not in st["empty"][group]:
                continue  # a figure earlier runs did not have
            e = st["empty"][group] if key is None else st["empty"][group][key]
            f = st["big"][group] if key is None else st["big"][group][key]
            lines.append(f"| {label} | {e['median_ms']:.2f} / {e['max_ms']:.2f} | "
                         f"{f['median_ms']:.2f} / {f['max_ms']:.2f} |")
        lines.append(f"\nClaims per second (one claimer, from the median): empty "
                     f"{ce['claims_per_s']}, {big} {cf['claims_per_s']}.")
    sizes = sec.get("sizes", {})
    if sizes:
        lines += ["", f"### Sizes at {big}", "", "| relation | MB |", "|---|---:|"]
        for name, size in sorted({**sizes["tables"], **sizes["indexes"]}.items(),
                                 key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {_mb(size)} |")
    lines.append("")
    return lines
