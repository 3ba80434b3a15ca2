"""Writes iys-inbound.json, the Grafana dashboard (run: python deploy/grafana/dashboard.py).

Kept as code so that panels stay uniform and a test can check every queried metric exists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

# (row title, [(panel title, kind, unit, description, [(expr, legend)][, thresholds])]);
# thresholds: [(from value or None for the base, colour)]
ROWS: list[tuple[str, list[tuple[Any, ...]]]] = [
    ("Links", [
        ("Bind state", "stat", "none",
         "1 when the link is bound by some process (max over processes), 0 when it is down. "
         "Standby processes report nothing for links they do not own.",
         [("max by (link) (iys_inbound_smpp_bound)", "{{link}}")],
         [(None, "red"), (1, "green")]),
        ("PDUs", "timeseries", "ops",
         "SMPP PDUs per second by link, direction and command.",
         [("sum by (link, direction, command) (rate(iys_inbound_smpp_pdus_total[5m]))",
           "{{link}} {{direction}} {{command}}")]),
        ("Reconnects and refused binds", "timeseries", "ops",
         "Reconnect attempts and refused binds (by SMPP status) per second.",
         [("sum by (link) (rate(iys_inbound_smpp_reconnects_total[5m]))", "{{link}} reconnects"),
          ("sum by (link, status) (rate(iys_inbound_smpp_bind_failures_total[5m]))",
           "{{link}} {{status}}")]),
    ]),
    ("Inbound", [
        ("MO messages by outcome", "timeseries", "ops",
         "Mobile-originated messages per second by number and keyword outcome.",
         [("sum by (number, outcome) (rate(iys_inbound_mo_messages_total[5m]))",
           "{{number}} {{outcome}}")]),
        ("Ack latency", "timeseries", "s",
         "From reading a deliver_sm to writing its deliver_sm_resp (after the commit).",
         [(f"histogram_quantile({q}, sum by (le) (rate(iys_inbound_ack_seconds_bucket[5m])))",
           f"p{int(q * 100)}") for q in (0.5, 0.9, 0.99)]),
        ("Commit batch size", "timeseries", "none",
         "deliver_sm stored per transaction (group commit): 1 when idle, grows with load.",
         [("sum(rate(iys_inbound_commit_batch_size_sum[5m])) / "
           "sum(rate(iys_inbound_commit_batch_size_count[5m]))", "mean"),
          ("histogram_quantile(0.99, sum by (le) (rate(iys_inbound_commit_batch_size_bucket"
           "[5m])))", "p99")]),
        ("Commit latency", "timeseries", "s",
         "Time to store one batch in PostgreSQL (one transaction), by link. The ack waits "
         "for it, so it bounds the ack latency from below.",
         [(f"histogram_quantile({q}, sum by (link, le) (rate(iys_inbound_commit_seconds_bucket"
           f"[5m])))", f"{{{{link}}}} p{int(q * 100)}") for q in (0.5, 0.99)]),
        ("Store failures and redeliveries", "timeseries", "ops",
         "Batches answered ESME_RX_T_APPN (not stored) and PDUs the SMSC re-sent.",
         [("sum by (link) (rate(iys_inbound_commit_failures_total[5m]))", "{{link}} not stored"),
          ("sum by (link) (rate(iys_inbound_redeliveries_total[5m]))", "{{link}} redelivered"),
          ("sum by (link) (rate(iys_inbound_incomplete_messages_total[5m]))",
           "{{link}} incomplete")]),
    ]),
    ("Keywords", [
        ("Events by brand and status", "timeseries", "ops",
         "Consent events written to the outbox per second.",
         [("sum by (brand, status) (rate(iys_inbound_consent_events_created_total[5m]))",
           "{{brand}} {{status}}")]),
        ("Events finished by state", "timeseries", "ops",
         "Consent events reaching a final state per second (accepted, not needed, failed…), "
         "and those settled without an add request because İYS already had that state.",
         [("sum by (brand, status, state) (rate(iys_inbound_events_finished_total[5m]))",
           "{{brand}} {{status}} {{state}}"),
          ("sum by (reason) (rate(iys_inbound_events_not_sent_total[5m]))",
           "not sent: {{reason}}")]),
        ("Unmatched rate", "timeseries", "ops",
         "MO messages per second that produced no consent, by number and outcome.",
         [("sum by (number, outcome) (rate(iys_inbound_mo_messages_total"
           "{outcome!=\"consent\"}[5m]))", "{{number}} {{outcome}}")]),
        ("Unmatched share", "timeseries", "percentunit",
         "Share of MO messages that produced no consent (wrong keyword, unknown brand…).",
         [("sum(rate(iys_inbound_mo_messages_total{outcome!=\"consent\"}[1h])) / "
           "sum(rate(iys_inbound_mo_messages_total[1h]))", "unmatched")]),
    ]),
    ("İYS", [
        ("Submission latency", "timeseries", "s",
         "From receiving the SMS to İYS accepting its consent.",
         [(f"histogram_quantile({q}, sum by (le) (rate(iys_inbound_push_latency_seconds_bucket"
           f"[15m])))", f"p{int(q * 100)}") for q in (0.5, 0.99)]),
        ("Request latency", "timeseries", "s",
         "Duration of one İYS HTTP request, by endpoint (p99).",
         [("histogram_quantile(0.99, sum by (endpoint, le) "
           "(rate(iys_inbound_iys_request_seconds_bucket[5m])))", "{{endpoint}} p99")]),
        ("Responses by code", "timeseries", "ops",
         "İYS requests sent per second by endpoint, and the answers by endpoint, HTTP status "
         "and İYS code (status none: no answer, e.g. a timeout).",
         [("sum by (endpoint) (rate(iys_inbound_iys_requests_total[5m]))", "{{endpoint}} sent"),
          ("sum by (endpoint, status, code) (rate(iys_inbound_iys_responses_total[5m]))",
           "{{endpoint}} {{status}} {{code}}")]),
        ("Success ratio (24 h)", "stat", "percentunit",
         "What İYS's whitelist rule counts (400/401/403/404/422 fail): below 70 % over 24 h "
         "and the IP is removed; the alert fires below 90 %. Per egress IP: from the stored "
         "attempts of every process with that iys.egress_label; and per process from the "
         "response counter (what the alert uses).",
         [("min by (egress) (iys_inbound_iys_success_ratio_24h)", "{{egress}} 24 h"),
          ("1 - sum by (instance) (increase(iys_inbound_iys_responses_total"
           "{status=~\"400|401|403|404|422\"}[24h])) / sum by (instance) "
           "(increase(iys_inbound_iys_responses_total[24h]))", "{{instance}} counter")],
         [(None, "red"), (0.7, "orange"), (0.9, "green")]),
        ("Retries and business failures", "timeseries", "ops",
         "Events rescheduled after a temporary error (by reason) and events failed for a "
         "validation or business rule (by brand and İYS code; each needs a person).",
         [("sum by (reason) (rate(iys_inbound_iys_retries_total[5m]))", "retry {{reason}}"),
          ("sum by (brand, code) (rate(iys_inbound_iys_business_failures_total[5m]))",
           "failed {{brand}} {{code}}")]),
        ("Backlog", "timeseries", "none",
         "Consent events not yet final, the age of the oldest (seconds), and the processes "
         "whose push side keeps its slower pace during a wave of MOs (acks first; "
         "iys.yield_to_intake_above).",
         [("max(iys_inbound_backlog_events)", "events"),
          ("max(iys_inbound_backlog_oldest_age_seconds)", "oldest age (s)"),
          ("sum(iys_inbound_push_yielding)", "processes yielding to MOs")]),
        ("Token", "stat", "none", "İYS token: 1 valid, 0 unavailable, 2 halted after H084.",
         [("max(iys_inbound_iys_token_state)", "token")],
         [(None, "orange"), (1, "green"), (2, "red")]),
        ("LISTEN", "stat", "none",
         "1 while the pusher's LISTEN connection is alive (min over processes); at 0 a "
         "process still pushes its own new events at once, and finds the others' by polling, "
         "only later.",
         [("min(iys_inbound_listen_healthy)", "listen")], [(None, "red"), (1, "green")]),
    ]),
    ("Compliance", [
        ("Nearest RET deadline", "stat", "s",
         "Seconds until the nearest pending RET must be in İYS (three business days).",
         [("min(iys_inbound_ret_deadline_nearest_seconds)", "seconds")],
         [(None, "red"), (86400, "orange"), (172800, "green")]),
        ("Past 50 % / 90 % of the window", "timeseries", "none",
         "Pending events older than half / 90 % of their legal window.",
         [("max(iys_inbound_events_past_half_window)", "past 50 %"),
          ("max(iys_inbound_events_past_ninety_window)", "past 90 %")]),
        ("Overdue", "stat", "none", "Pending events past their deadline. Must be 0.",
         [("max(iys_inbound_events_overdue)", "overdue")], [(None, "green"), (1, "red")]),
        ("Failed (need a person)", "stat", "none",
         "Events refused by İYS for validation or business rules; see the runbook.",
         [("max(iys_inbound_events_failed)", "failed")], [(None, "green"), (1, "orange")]),
    ]),
]


def build() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    pid, y = 1, 0
    for row_title, row_panels in ROWS:
        panels.append({"id": pid, "type": "row", "title": row_title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        per_line = min(len(row_panels), 4)
        width = 24 // per_line
        for i, (title, kind, unit, description, targets, *rest) in enumerate(row_panels):
            defaults: dict[str, Any] = {"unit": unit}
            if rest:
                defaults["thresholds"] = {"mode": "absolute", "steps": [
                    {"value": value, "color": colour} for value, colour in rest[0]]}
            panels.append({
                "id": pid, "type": kind, "title": title, "description": description,
                "datasource": DS,
                "gridPos": {"h": 8, "w": width, "x": (i % per_line) * width,
                            "y": y + (i // per_line) * 8},
                "fieldConfig": {"defaults": defaults, "overrides": []},
                "targets": [{"refId": chr(65 + j), "datasource": DS, "expr": expr,
                             "legendFormat": legend} for j, (expr, legend) in enumerate(targets)],
            })
            pid += 1
        y += 8 * -(-len(row_panels) // per_line)
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
                      "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""}],
        "annotations": {"list": []}, "templating": {"list": []}, "links": [],
        "title": "iys-inbound", "uid": "iys-inbound", "schemaVersion": 39, "version": 1,
        "editable": True, "tags": ["iys-inbound", "smpp", "iys"], "timezone": "browser",
        "time": {"from": "now-6h", "to": "now"}, "refresh": "30s", "panels": panels,
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("iys-inbound.json")
    out.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
