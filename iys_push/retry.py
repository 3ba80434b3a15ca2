"""The verdict on an event, before and after sending it, and when to try again (pure).

Before: what İYS would refuse for ever is failed here, not sent (every 4xx counts against the
IP's success ratio, and İYS drops an IP below 70 %); the per-key date order is planned.
After: what an İYS answer means for the event.

Only temporary trouble is retried: no answer, 5xx, 429 and İYS's retry-required codes
(IYS_API.md §5.2). Validation and business-rule errors are final (``failed``): sending them
again unchanged would fail again and every 4xx counts against the IP's success ratio.
Two business-rule answers mean İYS already has what we wanted: H174 (the key already has
this status) and H175 (a first record cannot be RET, i.e. there is no ONAY to withdraw).

Supersession is one rule: when İYS holds a newer movement for the key than the event's
consent date, the event is ``superseded`` (kept as evidence, no alert), whether that is
seen through H178, through the status query that reads the key's stored date, or through
the pulled changes feed. An event with the same status as the event before it for its key
is a ``duplicate`` (settled locally, no request).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from iys_push import consent_rules
from iys_push.events import ClaimedEvent
from iys_push.timefmt import format_iys
from iys_push.token import TokenHalted
from smpp_bind.backoff import Backoff

if TYPE_CHECKING:
    from iys_push.client import Answer

Event = ClaimedEvent

State = Literal["accepted", "not_needed", "superseded", "duplicate", "failed", "retry", "wait"]

# Documented retry-required codes plus the inferred ones (H476 unexpected, H083 per second).
RETRYABLE_CODES = frozenset({"H015", "H101", "H102", "H103", "H123", "H124", "H179", "H192",
                             "H412", "H470", "H476", "H083"})


@dataclass(frozen=True)
class Verdict:
    """The fate of one event. ``wait``: not sent yet on purpose, try again at ``until``."""

    state: State
    code: str | None = None
    message: str | None = None
    transaction_id: str | None = None
    creation_date: str | None = None
    known_status: str | None = None   # İYS's status for the key, when this verdict tells it
    until: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """The one backoff (``smpp_bind.backoff``), capped at 5 minutes; never past a share of
    the time left before the event's deadline."""

    cap: float = 300.0
    share_of_time_left: float = 0.25

    def next_attempt(self, attempts: int, now: datetime, deadline: datetime,
                     rng: random.Random | None = None) -> datetime:
        wait = self.delay(attempts, rng)
        left = (deadline - now).total_seconds()
        if left > 0:
            # close to a deadline, try more often rather than sleep through it
            wait = min(wait, max(self.first, left * self.share_of_time_left))
        return now + timedelta(seconds=wait)


DEFAULT_POLICY = RetryPolicy()
# A repeat is settled locally as a duplicate of an *accepted* event only within this time of
# it: İYS may have changed since through a channel our view does not see (another
# integrator's movement for the brand), and a RET taken for a duplicate wrongly would be a
# lost opt-out. A later repeat goes the ordinary way (a RET over a view without ONAY asks
# İYS first). Repeats behind a still pending event are settled by SETTLE_RUN whenever.
DUPLICATE_HORIZON = timedelta(hours=1)
# mirror origins whose consent date is İYS's own date of a movement that is not ours (the
# changes feed, İYS's push registration, the daily file, a status query with its date)
FOREIGN_DATES = frozenset({"pull", "iys_push", "reconcile", "status_date"})
# İYS-side origins whose RET settles a later RET of ours without a request (known_ret)
IYS_SIDE_RET = frozenset({"pull", "iys_push", "reconcile"})


def classify(answer: Answer, status: str) -> Verdict:
    """The verdict for an İYS answer to adding a consent whose status is ``status``."""
    if answer.ok and isinstance(answer.body, dict) and answer.body.get("transactionId"):
        return Verdict("accepted", transaction_id=str(answer.body["transactionId"]),
                       creation_date=answer.body.get("creationDate"), known_status=status)
    if answer.ok:
        return Verdict("retry", "NO_TRANSACTION_ID", f"HTTP {answer.status} without a "
                       "transactionId")
    if (answer.status is None or answer.status >= 500 or answer.status in (401, 429)
            or answer.code in RETRYABLE_CODES):
        # 401 here: the client's one renewal did not help; try later with a fresh token
        return Verdict("retry", answer.code or f"HTTP{answer.status or '-'}",
                       answer.message or None)
    if answer.code == "H174":
        return Verdict("not_needed", "H174", answer.message, known_status=status)
    if answer.code == "H175":
        return Verdict("not_needed", "H175", answer.message, known_status="RET")
    if answer.code == "H178":
        # İYS has a movement of the key dated at or after ours: the citizen's own (e-Devlet,
        # 3338, the app, within the hour the changes feed hides) or another channel's
        return Verdict("superseded", "H178", answer.message or "İYS holds a newer movement "
                       "of this key")
    return Verdict("failed", answer.code or f"HTTP{answer.status}",
                   answer.message or str(answer.body)[:300])


# -- before sending --------------------------------------------------------------------------------
EARLIEST = consent_rules.EARLIEST


def prevalidate(event: Event, now: datetime) -> Verdict | None:
    """A ``failed`` verdict for what İYS would refuse for ever (IYS_API.md §3), else None:
    the rules every channel's intake applied already (iys_push.consent_rules), checked again
    here because time has passed since (the three business days) and rows may come from
    elsewhere."""
    if now > event.deadline_at:
        return Verdict("failed", "LOCAL_H467", "older than three business days: İYS refuses "
                       "it for ever (H467); a person must handle it")
    found = consent_rules.refusals(
        recipient=event.recipient, type_=event.type, status=event.status,
        source=event.source, consent_date=min(event.received_at, event.consent_date),
        now=now, intake=False)
    if not found:
        return None
    first = found[0]
    return Verdict("failed", first.local, f"{first.reason}; a person must handle it"
                   if first.local == "LOCAL_H467" else first.reason)


@dataclass(frozen=True)
class View:
    """Our view of the key in İYS: from our accepted pushes (``push``), pulled İYS-side
    changes (``pull``) or the batch status endpoint (``status``)."""

    status: str
    consent_date: datetime | None
    origin: str

    @staticmethod
    def of(event: Event) -> View | None:
        if event.view_status is None:
            return None
        return View(event.view_status, event.view_date, event.view_origin)


def plan_consent_date(received_at: datetime, view: View | None) -> datetime | None:
    """The consentDate to send, or None when İYS has a later movement of the key from the
    citizen (e-Devlet, 3338, the app): ours is older, superseded, and İYS would say H178.

    İYS keeps seconds and needs strictly increasing dates per key: two of our movements of
    one key within one second go one second apart, the later one moved forward (its receipt
    time stays in ``received_at``)."""
    wanted = received_at.replace(microsecond=0)
    if view is None or view.consent_date is None or wanted > view.consent_date:
        return wanted
    if view.origin in FOREIGN_DATES:   # İYS's own date of a movement not ours
        return None
    return view.consent_date + timedelta(seconds=1)


def consent_body(event: Event, consent_date: datetime) -> dict[str, Any]:
    """The İYS ``Consent`` body: optional fields omitted, never null (IYS_API.md §1.2)."""
    return {"consentDate": format_iys(consent_date), "source": event.source,
            "recipient": event.recipient, "recipientType": event.recipient_type,
            "status": event.status, "type": event.type}


SUPERSEDED = Verdict("superseded", "SUPERSEDED", "a later movement of this key is already in "
                     "İYS (a later event of ours, or the citizen's own)")
# no known_status: NO_ONAY follows a status query, which has written the key's view already
NO_ONAY = Verdict("not_needed", "NO_ONAY", "İYS has no ONAY for this recipient: nothing to "
                  "withdraw (a RET there would be refused, H175/H174)")


def duplicate(before_id: int) -> Verdict:
    return Verdict("duplicate", "DUPLICATE", f"the same status as event {before_id} before it "
                   "for this key: nothing new to tell İYS")


def before_sending(event: Event, now: datetime) -> Verdict | None:
    """The verdict reached from the claimed row alone: refused for ever, overtaken by a later
    accepted event of ours, or a duplicate of the accepted event before it (``same_before``
    and ``other_before`` from store.SQL.claim) while our view of İYS still shows that status (a
    pulled or queried change of the key since means it is not)."""
    verdict = prevalidate(event, now)
    if verdict is not None:
        return verdict
    if event.superseded:
        return SUPERSEDED
    same, other = event.same_before, event.other_before
    if (same is not None and (other is None or list(same) > list(other))
            and event.view_status == event.status
            and event.received_at.timestamp() - float(same[0])
            <= DUPLICATE_HORIZON.total_seconds()):
        return duplicate(int(same[1]))
    return None


def judge_stored(event: Event, before: View | None, stored: View) -> Verdict | None:
    """The verdict from İYS's stored movement of the key (status query with its date, read
    for an event that waited): SUPERSEDED when İYS holds a movement dated after ours that is
    not our own last push (``before``, the view the claim saw); at the same second, too, for
    an ONAY (which is later is unknown: the recipient's protection decides), not for a RET.
    None: send, planned after ``stored``."""
    if stored.consent_date is None:
        return None
    # our own last push (the date of a "status" view is inherited from one)
    ours = (before is not None and before.origin in ("push", "status")
            and before.consent_date == stored.consent_date)
    wanted = event.received_at.replace(microsecond=0)
    if ours or stored.consent_date < wanted:
        return None
    if stored.consent_date > wanted or event.status == "ONAY":
        return Verdict("superseded", "SUPERSEDED",
                       f"İYS holds a newer movement of this key: {stored.status} of "
                       f"{format_iys(stored.consent_date)} (status query)")
    return None


def waiting(until: datetime) -> Verdict:
    # a moved-forward date is in the future: İYS refuses those (H162), so wait for it
    return Verdict("wait", None, "waiting for the next second (per-key order)",
                   until=until + timedelta(milliseconds=50))


def trouble(exc: BaseException) -> Verdict:
    if isinstance(exc, TokenHalted):
        return Verdict("wait", "H084", str(exc), until=exc.until)
    return Verdict("retry", None, f"{type(exc).__name__}: {exc}"[:300])


def must_ask(event: Event, view: View | None) -> bool:
    """A RET is sent only over an ONAY. A view that says ONAY is trusted (a stale one costs
    at most an H174, read as not_needed); anything else is asked of İYS, because İYS-side
    changes of the last hour are invisible to the changes feed, and a RET skipped wrongly
    would leave an ONAY the recipient withdrew."""
    return event.status == "RET" and (view is None or view.status != "ONAY")


def known_ret(event: Event, view: View | None) -> Verdict | None:
    """``not_needed`` without a request: a RET over İYS's own RET of the key (a citizen's
    e-Devlet or 3338 RET that İYS pushed to us, or a feed delivered) dated within
    DUPLICATE_HORIZON before the event. Within that time the same risk as a local duplicate
    is taken (another integrator's ONAY since would be unseen); beyond it the ordinary way
    (a status query) decides."""
    if (event.status != "RET" or view is None or view.status != "RET"
            or view.origin not in IYS_SIDE_RET or view.consent_date is None):
        return None
    age = (event.received_at - view.consent_date).total_seconds()
    if not 0 <= age <= DUPLICATE_HORIZON.total_seconds():
        return None
    return Verdict("not_needed", "IYS_RET", "İYS already holds the recipient's own RET of "
                   f"{format_iys(view.consent_date)} ({view.origin}): nothing to withdraw")


def with_onay(view: View | None) -> View:
    return View("ONAY", view.consent_date, view.origin) if view else View("ONAY", None, "status")
