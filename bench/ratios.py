"""The SMPP section's ratio spreads (BENCHMARKS.md): every window-50 run of iys-inbound
against the smpplib reference, and every mixed run against the plain row, so a ratio's
median is never read without its range (the machine is shared)."""

from __future__ import annotations

from statistics import median
from typing import Any

MIXED = "iys-inbound mixed"     # bench/mixed.py: the mix a real short number receives
TARGET_MIXED = 0.6              # mixed ≥ 0.6× the plain row (issue #26 item 6a)
TARGET_VS_ACKONLY = 0.5         # window 50 ≥ 0.5× the smpplib reference (issue #26 item 1)
TARGET_P99_MS = 50.0            # paced ack p99 at 1,000 MO/s (issue #26 item 6)
AGAIN = "smpplib ack-only, again"   # the reference once more, right after iys-inbound


def runs_of(rows: list[dict[str, Any]], client: str, window: int) -> list[dict[str, Any]]:
    return [row for row in rows
            if row["client"] == client and row["mode"] == "window" and row["window"] == window]


def median_run(rows: list[dict[str, Any]], client: str, window: int) -> dict[str, Any] | None:
    """The run with the median rate (the lower one of an even count): its latencies go with
    it. Window 50 runs several times (BENCH_W50_RUNS); other windows once."""
    runs = sorted(runs_of(rows, client, window), key=lambda row: row["rate"])
    return runs[(len(runs) - 1) // 2] if runs else None


def ackonly_refs(rows: list[dict[str, Any]], window: int) -> list[float]:
    """The smpplib ack-only reference at ``window``: its (median) rate before our row and,
    where it ran again after it, that one too. Ratios are taken against their mean."""
    return [r["rate"] for r in (median_run(rows, c, window) for c in ("smpplib ack-only", AGAIN))
            if r]


def vs_ackonly(rate: float, refs: list[float]) -> float:
    """``rate`` as a multiple of the mean of the smpplib references (``ackonly_refs``)."""
    return rate / (sum(refs) / len(refs))


def each(values: list[float], fmt: str = "{:.3f}") -> str:
    return " · ".join(fmt.format(v) for v in values) or "—"


def spread(what: str, values: list[float], fmt: str, unit: str, *,
           at_least: float | None = None, at_most: float | None = None) -> str:
    """``- what: min–max, median`` and, against a target, how many values meet it."""
    line = (f"- {what}: {fmt.format(min(values))}–{fmt.format(max(values))}{unit}, median "
            f"{fmt.format(median(values))}{unit}")
    if at_least is not None:
        line += f"; at or above {at_least}{unit.strip()} in {sum(v >= at_least for v in values)}"
    if at_most is not None:
        line += f"; within {at_most:.0f}{unit} in {sum(v <= at_most for v in values)}"
    return line


def w50_rates(rows: list[dict[str, Any]], client: str) -> list[float]:
    return [r["rate"] for r in runs_of(rows, client, 50)]


def spread_lines(rows: list[dict[str, Any]], refs: list[float]) -> list[str]:
    """``refs``: the smpplib reference's window-50 rates (before and after ours)."""
    plain, mixed = w50_rates(rows, "iys-inbound"), w50_rates(rows, MIXED)
    lines: list[str] = []
    if plain and refs:
        ref = sum(refs) / len(refs)
        each = [p / ref for p in plain]
        lines.append(f"- iys-inbound / smpplib ack-only at window 50, every run: "
                     f"{' · '.join(f'{x:.3f}' for x in each)} (range {min(each):.3f}–"
                     f"{max(each):.3f}×, median {median(each):.3f}×)")
    if plain and mixed:
        base = median(plain)
        each = [m / base for m in mixed]
        verdict = "met" if median(each) >= TARGET_MIXED else "**not met**"
        lines.append(f"- mixed / plain at window 50 (each mixed run against the plain row's "
                     f"median {base:,.0f}; rates in PDUs/s, 24 PDUs per 20 messages): "
                     f"{' · '.join(f'{x:.3f}' for x in each)} (range {min(each):.3f}–"
                     f"{max(each):.3f}×, median {median(each):.3f}×) — target ≥ "
                     f"{TARGET_MIXED}×: {verdict}")
    return lines
