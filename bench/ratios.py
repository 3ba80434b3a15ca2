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


def w50_rates(rows: list[dict[str, Any]], client: str) -> list[float]:
    return [r["rate"] for r in rows
            if r["client"] == client and r["mode"] == "window" and r["window"] == 50]


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
