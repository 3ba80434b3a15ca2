"""Every partial run of the SMPP section (BENCHMARKS.md, *Every partial run*).

A partial run is one row alone, usually window 50 alternated round by round against a
throwaway variant (``BENCH_ROWS=smpplib,iys BENCH_WINDOWS=50 BENCH_OUT=/tmp/x``). It
writes its results elsewhere, so it would otherwise be seen only by whoever ran it; this
module keeps each one in ``smpp_partial`` of bench/results.json, the slow ones too:

    .venv/bin/python -m bench.partial_runs /tmp/x/results.json \\
        --measured "what the rounds compare" --variant "as shipped" --round 1 --main

(``--main`` when the run was of the code on main; without it, of a variant.)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.ratios import (
    TARGET_P99_MS,
    TARGET_VS_ACKONLY,
    ackonly_refs,
    each,
    median_run,
    spread,
    vs_ackonly,
    w50_rates,
)

ROOT = Path(__file__).resolve().parent.parent


def entry(results: dict[str, Any], measured: str, variant: str, round_: int | None,
          main: bool) -> dict[str, Any]:
    """One partial run, from the results.json it wrote: its window-50 runs, their median,
    the bench's ratio (that median against the smpplib medians before and after it) and
    its paced p99s."""
    rows = results["rows"]
    plain = w50_rates(rows, "iys-inbound")
    mid, refs = median_run(rows, "iys-inbound", 50), ackonly_refs(rows, 50)
    return {"date": results.get("date"), "git": results.get("machine", {}).get("git_commit"),
            "measured": measured, "round": round_, "variant": variant, "shipped": main,
            "w50": [round(r) for r in plain] or None,
            "median": round(mid["rate"]) if mid else None,
            "vs_smpplib": round(vs_ackonly(mid["rate"], refs), 3) if mid and refs else None,
            "paced_p99_ms": [r["p99_ms"] for r in rows
                             if r["mode"] == "paced" and r["client"] == "iys-inbound"]}


def lines(partial: list[dict[str, Any]]) -> list[str]:
    """Every partial run kept, in the order kept, then the spreads of the code that was on
    main and of each throwaway variant."""
    if not partial:
        return []
    out = ["### Every partial run", "",
           "Runs of one row alone (window 50, or the paced load), most of them alternated "
           "round by round against a throwaway variant to measure one lever; "
           "docs/DESIGN-NOTES.md says what each variant was and what it showed. *main* marks "
           "the code that was on main at the time; the variants were not kept. The ratio is "
           "the bench's own: the round's median against the smpplib reference before and "
           "after it (— where the run had none). Kept since 2026-12-03; the November rounds "
           "in docs/DESIGN-NOTES.md (\"The MO path's speed\") kept only their means and are "
           "not repeated here.", "",
           "| date (UTC) | git | what was measured | round | variant | w50 MO/s, each run | "
           "median | vs smpplib | paced p99 ms |",
           "|---|---|---|---:|---|---|---:|---:|---|"]
    for e in partial:
        variant = f"{e['variant']} (main)" if e["shipped"] else e["variant"]
        ratio = "—" if e["vs_smpplib"] is None else f"{e['vs_smpplib']:.3f}"
        median_cell = "—" if e["median"] is None else f"{e['median']:,}"
        measured = f"{e['measured']}: {e['note']}" if e.get("note") else e["measured"]
        out.append(f"| {e['date']} | {e['git']} | {measured} | {e['round'] or '—'} | "
                   f"{variant} | {each(e['w50'] or [], '{:,.0f}')} | {median_cell} | "
                   f"{ratio} | {each(e.get('paced_p99_ms') or [], '{:.0f}')} |")
    main = [e for e in partial if e["shipped"]]
    ratios = [e["vs_smpplib"] for e in main if e["vs_smpplib"] is not None]
    rates = [float(r) for e in main for r in (e["w50"] or [])]
    p99 = [p for e in main for p in e.get("paced_p99_ms") or []]
    out.append("")
    if ratios:
        out.append(spread(f"main, window 50 / smpplib over {len(ratios)} rounds", ratios,
                          "{:.3f}", "×", at_least=TARGET_VS_ACKONLY))
    if rates:
        out.append(spread(f"main, window 50 over {len(rates)} runs", rates, "{:,.0f}",
                          " MO/s"))
    if p99:
        out.append(spread(f"main, paced p99 over {len(p99)} runs", p99, "{:.0f}", " ms",
                          at_most=TARGET_P99_MS))
    variants: dict[str, list[float]] = {}
    for e in partial:
        if not e["shipped"] and e["vs_smpplib"] is not None:
            variants.setdefault(e["variant"], []).append(e["vs_smpplib"])
    for name, values in variants.items():
        out.append(spread(f"{name}, window 50 / smpplib over {len(values)} rounds", values,
                          "{:.3f}", "×"))
    return [*out, ""]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.partial_runs")
    parser.add_argument("results", type=Path, help="the partial run's results.json")
    parser.add_argument("--measured", required=True)
    parser.add_argument("--variant", required=True)
    parser.add_argument("--round", type=int)
    parser.add_argument("--main", action="store_true", help="the run was of main's code")
    args = parser.parse_args(argv)
    from bench import report  # report imports this module

    kept_path = ROOT / "bench" / "results.json"
    kept = json.loads(kept_path.read_text())
    run = json.loads(args.results.read_text())
    kept.setdefault("smpp_partial", []).append(
        entry(run, args.measured, args.variant, args.round, args.main))
    kept_path.write_text(json.dumps(kept, indent=2, default=str) + "\n")
    report.write_markdown(kept, ROOT / "BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
