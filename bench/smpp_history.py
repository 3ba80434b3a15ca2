"""Every full run of the SMPP section, not the last one only (BENCHMARKS.md).

A run of ``--only smpp`` replaces the section's rows in results.json; before it does, the
previous run's window-50 and paced figures are kept in ``smpp_earlier`` (with those it kept
itself). The report prints every kept run, the current one last, and the spread of the
targets' figures over all of them: this machine drifts by ±20 % within minutes and its disk
stalls now and then, so one run's verdict is never read alone.
"""

from __future__ import annotations

from statistics import median, median_low
from typing import Any

from bench.partial_runs import lines as partial_lines
from bench.ratios import (
    MIXED,
    TARGET_MIXED,
    TARGET_P99_MS,
    TARGET_VS_ACKONLY,
    each,
    spread,
    w50_rates,
)

CLIENTS = ("iys-inbound", MIXED, "smpplib ack-only", "smpplib ack-only, again")


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a run: its window-50 rates per client and its paced loads."""
    rows = results["rows"]
    return {
        "date": results.get("date"),
        "git_commit": results.get("machine", {}).get("git_commit"),
        "loadavg_at_start": results.get("machine", {}).get("loadavg_at_start"),
        "loadavg_at_end": results.get("loadavg_at_end"),
        "w50": {client: w50_rates(rows, client) for client in CLIENTS},
        "paced": [{k: r.get(k) for k in ("client", "offered", "rate", "p99_ms", "errors")}
                  for r in rows if r["mode"] == "paced"],
    }


def earlier_runs(previous: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs to keep when a new one replaces ``previous`` (the results.json read)."""
    if "rows" not in previous:
        return []
    return [*previous.get("smpp_earlier", []), summary(previous)]


def _ratios(run: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Each plain window-50 run against the smpplib reference (the mean of its medians
    before and after ours), each mixed run against the plain median."""
    w50 = run["w50"]
    refs = [median_low(w50[c]) for c in ("smpplib ack-only", "smpplib ack-only, again")
            if w50.get(c)]
    plain, mixed = w50.get("iys-inbound", []), w50.get(MIXED, [])
    vs_ref = [p / (sum(refs) / len(refs)) for p in plain] if refs else []
    vs_plain = [m / median(plain) for m in mixed] if plain else []
    return vs_ref, vs_plain


def lines(results: dict[str, Any]) -> list[str]:
    runs = [*results.get("smpp_earlier", []), summary(results)]
    out = ["", "### Every run of this section", "",
           "Each full run of `--only smpp` kept here, oldest first, the one above last "
           "(window 50: every run's MO/s, and its ratio to the smpplib reference of the same "
           "run; mixed: each run against that run's plain median). The runs may be of different "
           "code: the git column says which, and the spreads below are over all of them. "
           "Partial runs (one row alone, often alternated against a throwaway variant) "
           "follow in *Every partial run*.", "",
           "| date | git | load start → end | iys-inbound w50 MO/s | vs smpplib | "
           "mixed / plain | paced p99 ms (errors) |",
           "|---|---|---|---|---|---|---|"]
    all_ref: list[float] = []
    all_mixed: list[float] = []
    all_p99: list[float] = []
    for run in runs:
        vs_ref, vs_plain = _ratios(run)
        paced = [p for p in run["paced"] if p["client"] == "iys-inbound"]
        all_ref += vs_ref
        all_mixed += vs_plain
        all_p99 += [p["p99_ms"] for p in paced]
        start, end = run.get("loadavg_at_start") or ["?"], run.get("loadavg_at_end") or ["?"]
        out.append(f"| {run['date']} | {run['git_commit']} | {start[0]} → {end[0]} | "
                   f"{each(run['w50'].get('iys-inbound', []), '{:,.0f}')} | {each(vs_ref)} "
                   f"| {each(vs_plain)} | "
                   f"{each([p['p99_ms'] for p in paced], '{:.1f}')}"
                   f" ({', '.join(str(p['errors']) for p in paced) or '—'}) |")
    out.append("")
    if all_ref:
        out.append(spread(f"window 50 / smpplib over {len(all_ref)} runs", all_ref, "{:.3f}",
                          "×", at_least=TARGET_VS_ACKONLY))
    if all_mixed:
        out.append(spread(f"mixed / plain over {len(all_mixed)} runs", all_mixed, "{:.3f}",
                          "×", at_least=TARGET_MIXED))
    if all_p99:
        out.append(spread(f"paced p99 over {len(all_p99)} runs", all_p99, "{:.1f}", " ms",
                          at_most=TARGET_P99_MS))
    return [*out, "", *partial_lines(results.get("smpp_partial", []))]

