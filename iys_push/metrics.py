"""Prometheus metrics of the İYS side (``iys_inbound_iys_*``; never a phone number)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("iys_inbound_iys_requests_total",
                   "Requests sent to İYS by endpoint (token calls included)", ["endpoint"])
RESPONSES = Counter("iys_inbound_iys_responses_total",
                    "İYS answers by endpoint, HTTP status (none = no answer) and İYS code",
                    ["endpoint", "status", "code"])
REQUEST_SECONDS = Histogram("iys_inbound_iys_request_seconds", "İYS request latency",
                            ["endpoint"],
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
PUSH_LATENCY = Histogram("iys_inbound_push_latency_seconds",
                         "From receiving the SMS to İYS accepting its consent event",
                         buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400))
EVENTS_FINISHED = Counter("iys_inbound_events_finished_total",
                          "Consent events that reached a final state (accepted, not_needed, "
                          "superseded: İYS holds a newer movement of the key, duplicate: the "
                          "same status as the event before it, failed)",
                          ["brand", "status", "state"])
BUSINESS_FAILURES = Counter("iys_inbound_iys_business_failures_total",
                            "Events failed for validation or business rules (never retried "
                            "blindly; each needs a person)", ["brand", "code"])
RETRIES = Counter("iys_inbound_iys_retries_total", "Events rescheduled after a temporary error",
                  ["reason"])
NOT_SENT = Counter("iys_inbound_events_not_sent_total",
                   "Events settled without an add request (İYS already in that state)",
                   ["reason"])
TOKEN_STATE = Gauge("iys_inbound_iys_token_state",
                    "İYS token: 1 valid, 0 unavailable, 2 halted after H084")
BACKLOG = Gauge("iys_inbound_backlog_events", "Consent events not yet final")
BACKLOG_AGE = Gauge("iys_inbound_backlog_oldest_age_seconds",
                    "Age of the oldest pending consent event")
PUSH_YIELDING = Gauge("iys_inbound_push_yielding",
                      "1 while the push side keeps its slower pace because this process's MO "
                      "intake is above iys.yield_to_intake_above")
NEAREST_DEADLINE = Gauge("iys_inbound_ret_deadline_nearest_seconds",
                         "Seconds to the nearest deadline of a pending RET (large when none)")
PAST_HALF = Gauge("iys_inbound_events_past_half_window",
                  "Pending events older than 50 % of their legal window")
PAST_NINETY = Gauge("iys_inbound_events_past_ninety_window",
                    "Pending events older than 90 % of their legal window")
OVERDUE = Gauge("iys_inbound_events_overdue", "Pending events past their deadline (must be 0)")
FAILED = Gauge("iys_inbound_events_failed", "Events in state failed, waiting for a person")
SUCCESS_RATIO = Gauge("iys_inbound_iys_success_ratio_24h",
                      "Share of the İYS requests answered in the last 24 h, by every process "
                      "with this egress label, that did not fail with 400/401/403/404/422 "
                      "(İYS's whitelist rule per IP: keep above 0.70)", ["egress"])
REQUESTS_24H = Gauge("iys_inbound_iys_requests_24h",
                     "İYS requests answered in the last 24 h by every process with this "
                     "egress label (İYS applies its success-ratio rule from 20,000 up)",
                     ["egress"])
LISTEN_HEALTHY = Gauge("iys_inbound_listen_healthy",
                       "1 while the pusher's LISTEN connection is up")

# Values before the first measurement: "no RET pending" and "nothing failed yet", so a fresh
# process does not fire the deadline alert (0 would read as "a deadline is due now").
NO_DEADLINE_SECONDS = 1e9
NEAREST_DEADLINE.set(NO_DEADLINE_SECONDS)

CLIENT_ERRORS = (400, 401, 403, 404, 422)   # what İYS counts as failures (IYS_API.md §6)
