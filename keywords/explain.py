"""A decision as one JSON-able object (``iys-inbound explain`` and ``POST /api/v1/explain``)."""

from __future__ import annotations

from typing import Any

from keywords.match import Decision


def explain(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome,
        "events": [
            {"brand": e.brand_id, "status": e.status, "types": list(e.types),
             "recipient_type": e.recipient_type}
            for e in decision.events
        ],
        "normalized": decision.normalized,
        "reason": decision.reason,
    }
