"""Webhooks to the brand's CRM (issue #32): Standard Webhooks payloads, signed, retried.

The outbox (``webhook_event``) is filled by triggers on ``consent_event`` and
``iys_key_state`` (migrations/0027_webhooks.sql) and by ``webhook_enqueue(brand, kind,
data)`` for kinds written elsewhere (``import.finished``). ``delivery.Deliverer`` numbers
each brand's events, fans them out to the endpoints that want them and sends them
(``webhook_delivery``, claimed with SKIP LOCKED by any process).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from inbound import sqlfile

SQL = sqlfile.load("inbound.webhooks", "sql/webhooks.sql")

KINDS = ("consent.received", "consent.settled", "iys.changed", "review.needed",
         "import.finished")
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """``whsec_`` + base64 of 24 random bytes (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def message_id(event_id: int) -> str:
    """The webhook-id of an event: the same for every attempt and every replay."""
    return f"msg_{event_id}"


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` keyed by the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_in_use: list[str], msg_id: str, timestamp: int,
                     body: bytes) -> str:
    """Space-separated signatures, one per secret (two during a rotation's overlap)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_in_use)
