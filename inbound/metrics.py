"""Prometheus metrics of the inbound path (names ``iys_inbound_*``, base units).

Labels are bounded: link names, command names, statuses, numbers (configured short codes),
outcomes. Never a phone number. The İYS side's metrics live in ``iys_push.metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, Info

BUILD_INFO = Info("iys_inbound_build", "Version of the running iys-inbound")

PDUS = Counter(
    "iys_inbound_smpp_pdus_total",
    "SMPP PDUs by link, direction, command and status",
    ["link", "direction", "command", "status"],
)
BIND_STATE = Gauge(
    "iys_inbound_smpp_bound", "1 when the link is bound, 0 otherwise", ["link"]
)
RECONNECTS = Counter(
    "iys_inbound_smpp_reconnects_total", "Connection attempts after the first", ["link"]
)
BIND_FAILURES = Counter(
    "iys_inbound_smpp_bind_failures_total", "Refused binds by status", ["link", "status"]
)
BATCH_SIZE = Histogram(
    "iys_inbound_commit_batch_size",
    "deliver_sm PDUs stored per group commit",
    ["link"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
COMMIT_SECONDS = Histogram(
    "iys_inbound_commit_seconds",
    "Time to store one batch (one transaction)",
    ["link"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ACK_SECONDS = Histogram(
    "iys_inbound_ack_seconds",
    "From reading a deliver_sm to writing its deliver_sm_resp",
    ["link"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
THROTTLED = Counter(
    "iys_inbound_smpp_throttled_total",
    "deliver_sm/data_sm answered ESME_RTHROTTLED, unstored, because max_uncommitted PDUs "
    "were already waiting for their commit (the SMSC sends them again)",
    ["link"],
)
UNCOMMITTED_PEAK = Gauge(
    "iys_inbound_smpp_uncommitted_peak",
    "The most PDUs of the link that waited for their commit at once since the process "
    "started (at most max_uncommitted)",
    ["link"],
)
COMMIT_FAILURES = Counter(
    "iys_inbound_commit_failures_total",
    "Batches answered ESME_RX_T_APPN because they could not be stored",
    ["link"],
)
MO_OUTCOMES = Counter(
    "iys_inbound_mo_messages_total",
    "Mobile-originated messages by destination number and outcome",
    ["number", "outcome"],
)
REDELIVERIES = Counter(
    "iys_inbound_redeliveries_total", "Identical PDUs re-sent by the SMSC", ["link"]
)
INCOMPLETE = Counter(
    "iys_inbound_incomplete_messages_total", "Concatenated messages resolved incomplete", ["link"]
)
EVENTS_CREATED = Counter(
    "iys_inbound_consent_events_created_total",
    "Consent events written to the outbox",
    ["brand", "status"],
)

# -- the review queue (inbound/reviews.py): near misses waiting for a person -----------------
REVIEWS_PENDING = Gauge(
    "iys_inbound_reviews_pending", "Near misses waiting for review (possible opt-outs)"
)
REVIEWS_PAST_HALF = Gauge(
    "iys_inbound_reviews_past_half_window",
    "Review items older than 50 % of the window a RET received then would have",
)
REVIEW_NEAREST_DEADLINE = Gauge(
    "iys_inbound_review_deadline_nearest_seconds",
    "Seconds to the nearest deadline of a review item (large when none is waiting)",
)
REVIEWS_DECIDED = Counter(
    "iys_inbound_reviews_decided_total",
    "Review items decided, by brand and decision (confirmed, dismissed, automatic)",
    ["brand", "decision"],
)
# before the first measurement: "none waiting", so a fresh process does not alert
NO_REVIEW_DEADLINE_SECONDS = 1e9
REVIEW_NEAREST_DEADLINE.set(NO_REVIEW_DEADLINE_SECONDS)

WEB_SIGN_IN_FAILURES = Counter(
    "iys_inbound_web_sign_in_failures_total",
    "Refused sign-ins to the web page: invalid (wrong password or unknown e-mail), locked "
    "(the e-mail address is locked), address_limited (too many failures from the client)",
    ["reason"],
)
WEB_SIGN_IN_LOCKOUTS = Counter(
    "iys_inbound_web_sign_in_lockouts_total",
    "E-mail addresses locked after too many failed sign-ins in a row",
)
TASK_RESTARTS = Counter(
    "iys_inbound_task_restarts_total",
    "Background tasks started again after they ended on an unexpected error (a bug)",
    ["task"],
)
