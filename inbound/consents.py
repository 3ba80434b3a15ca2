"""Consents from the brand's own channels (issue #28): what a recorded consent is, and the
checks it passes before anything is stored or sent.

The API (``POST /api/v1/brands/{brand}/consents``), the CLI (``iys-inbound consents add``)
and the web form all hand their input to ``parse_request``: one consent object, or
``{"consents": [...]}`` with at most 1,000. Every value goes through the input layer
(``inbound.api.inputs``), then through the rules İYS applies (``iys_push.consent_rules``,
the same function the pusher checks each event with). A refusal is a 422 problem whose
``errors[]`` name the item and field (``consents[3].consent_date``) with İYS's code where one
applies; nothing of the request is stored then. The writing is ``inbound.consent_store``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from inbound.api import inputs, params
from inbound.api.problems import Problem
from iys_push import consent_rules
from iys_push.consent_rules import HS_SOURCES, RECIPIENT_TYPES, STATUSES, TYPES

MAX_CONSENTS = 1000               # one request; İYS's own batch limit (H091)
BODY_LIMIT = 4 * 1024 * 1024      # 1,000 consents with their evidence
EVIDENCE_MAX_FIELDS = 20          # one item's evidence object: flat, named values
EVIDENCE_KEY_MAX = 40
EVIDENCE_VALUE_MAX = 500
RECIPIENT_MAX = 300               # as written, before normalisation
ITEM_FIELDS = ("recipient", "type", "status", "source", "recipient_type", "consent_date",
               "evidence")
MAX_ERRORS = 100                  # named in one problem; the count says how many more
# the sources a person may pick (HS_2015 is refused with its explanation, see consent_rules)
SOURCES = tuple(s for s in HS_SOURCES if s != "HS_2015")


@dataclass(frozen=True)
class Consent:
    """One consent as recorded: the recipient normalised (``+90…`` or a lower-cased e-mail)
    and as written, one or more types, and the moment the person gave it."""

    index: int
    recipient: str
    recipient_input: str
    types: tuple[str, ...]
    status: str
    source: str
    recipient_type: str
    consent_date: datetime
    evidence: dict[str, Any] = field(default_factory=dict)

    def keys(self) -> list[tuple[str, str, str]]:
        """(recipient, recipient_type, type) of each event this consent gives."""
        return [(self.recipient, self.recipient_type, t) for t in self.types]


class Refused(Problem):
    """The request's refusals, every item and field named (422)."""

    def __init__(self, errors: list[dict[str, Any]], *, status: int = 422) -> None:
        shown = errors[:MAX_ERRORS]
        more = f" (and {len(errors) - MAX_ERRORS} more)" if len(errors) > MAX_ERRORS else ""
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in shown[:3])
        if len(errors) > 3:
            detail += f"; … {len(errors)} refusals in all{more}"
        super().__init__(status, detail or "refused", errors=shown,
                         title="Consent refused" if status == 422 else None)


def _err(where: str, name: str, reason: str, code: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"field": where + name, "reason": reason}
    if code:
        item["code"] = code
    return item


def _choice(item: dict[str, Any], name: str, allowed: tuple[str, ...], where: str,
            errors: list[dict[str, Any]], *, default: str | None = None,
            code: str | None = None) -> str | None:
    value = item.get(name, default)
    if value is None:
        errors.append(_err(where, name, "required"))
        return None
    if not isinstance(value, str) or value not in allowed:
        if name == "source" and value == "HS_2015":
            errors.append(_err(where, name, consent_rules.HS_2015_EXPLAINED, "H155"))
        else:
            errors.append(_err(where, name, f"one of {', '.join(allowed)}", code))
        return None
    return value


def _types(item: dict[str, Any], where: str, errors: list[dict[str, Any]]
           ) -> tuple[str, ...] | None:
    value = item.get("type")
    if isinstance(value, str) and value in TYPES:
        return (value,)
    if (not isinstance(value, list) or not value or len(value) > len(TYPES)
            or any(not isinstance(v, str) or v not in TYPES for v in value)
            or len(set(value)) != len(value)):
        errors.append(_err(where, "type", "one of MESAJ, ARAMA, EPOSTA, or a list of MESAJ "
                           "and ARAMA without repeats", "H117"))
        return None
    if "EPOSTA" in value:
        errors.append(_err(where, "type", "EPOSTA needs an e-mail address and MESAJ/ARAMA a "
                           "phone number: give EPOSTA alone (\"type\": \"EPOSTA\"), as a "
                           "consent of its own", "H464"))
        return None
    return tuple(value)


def _evidence(item: dict[str, Any], where: str, errors: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """A flat object of at most ``EVIDENCE_MAX_FIELDS`` named values (text, whole numbers,
    true/false, null): form id, call id, IP, agent, notes. Shown on the evidence page,
    never sent to İYS."""
    value = item.get("evidence")
    if value is None:
        return {}
    name = where + "evidence"
    if not isinstance(value, dict) or len(value) > EVIDENCE_MAX_FIELDS:
        errors.append(_err(where, "evidence", f"expected an object of at most "
                           f"{EVIDENCE_MAX_FIELDS} values (form id, call id, IP, notes …)"))
        return {}
    try:
        for key, entry in value.items():
            inputs.text(key, f"{name}.{key}", max_length=EVIDENCE_KEY_MAX)
            if isinstance(entry, str):
                inputs.text(entry, f"{name}.{key}", max_length=EVIDENCE_VALUE_MAX,
                            allow_empty=True)
            elif entry is not None and not isinstance(entry, bool):
                value[key] = inputs.integer(entry, f"{name}.{key}", minimum=-(2**53),
                                            maximum=2**53)
    except Problem as problem:
        errors.extend(problem.errors)
        return {}
    return value


def parse_item(item: Any, index: int, where: str, now: datetime, *,
               normalise: Callable[[str, str], str | None] = consent_rules.normalise_recipient,
               window: bool = True) -> tuple[Consent | None, list[dict[str, Any]]]:
    """One consent object, checked as İYS would check it; (consent, []) or (None, errors).
    ``normalise``: ``normalise_recipient`` or a function with the same answers (a bulk file
    passes ``inbound.presend_numbers``' fast one). ``window=False``: not to be sent, so
    the three-business-day window does not apply (``consent_rules.refusals``)."""
    if not isinstance(item, dict):
        return None, [_err(where.rstrip("."), "", "expected a consent object")]
    errors: list[dict[str, Any]] = []
    for name in sorted(set(item) - set(ITEM_FIELDS)):
        errors.append(_err(where, str(name), "unknown field", "H118"))
    raw_recipient = item.get("recipient")
    if raw_recipient is None:
        errors.append(_err(where, "recipient", "required", "H114"))
    else:
        try:
            inputs.text(raw_recipient, where + "recipient", max_length=RECIPIENT_MAX)
        except Problem as problem:
            errors.extend(problem.errors)
            raw_recipient = None
    types = _types(item, where, errors)
    status = _choice(item, "status", STATUSES, where, errors, code="H115")
    source = _choice(item, "source", SOURCES, where, errors, code="H119")
    recipient_type = _choice(item, "recipient_type", RECIPIENT_TYPES, where, errors,
                             default="BIREYSEL", code="H116")
    consent_date = None
    raw_date = item.get("consent_date")
    if raw_date is None:
        errors.append(_err(where, "consent_date", "required: the moment the person gave the "
                           "consent (RFC 3339 with its offset), never the moment it was "
                           "typed in", "H112"))
    elif not isinstance(raw_date, str):
        errors.append(_err(where, "consent_date", "expected an RFC 3339 date-time string",
                           "H158"))
    else:
        try:
            consent_date = inputs.date_time(raw_date, where + "consent_date")
        except Problem as problem:
            errors.extend(problem.errors)
    evidence = _evidence(item, where, errors)
    recipient = None
    if isinstance(raw_recipient, str) and types is not None:
        recipient = normalise(raw_recipient, types[0])
        bad = next((t for t in types if recipient is None
                    or not consent_rules.recipient_fits(recipient, t)), None)
        if bad is not None:
            refusal = consent_rules.recipient_refusal(bad)
            errors.append(_err(where, "recipient", refusal.reason, refusal.code))
            recipient = None
    if (types is not None and status is not None and source is not None
            and consent_date is not None):
        for refusal in consent_rules.refusals(
                recipient=recipient or "", type_=types[0], status=status, source=source,
                consent_date=consent_date, now=now, intake=True, window=window):
            if refusal.field != "recipient" or recipient is not None:  # else named above
                errors.append(_err(where, refusal.field, refusal.reason, refusal.code))
    if errors or recipient is None or types is None or status is None or source is None \
            or recipient_type is None or consent_date is None:
        return None, errors
    return Consent(index, recipient, raw_recipient if isinstance(raw_recipient, str) else "",
                   types, status, source, recipient_type, consent_date, evidence), []


def parse_request(body: Any, now: datetime) -> tuple[list[Consent], bool]:
    """The consents of a request body (one object, or ``{"consents": [...]}``) and whether
    it was a list; raises ``Refused`` naming every item and field at fault."""
    if isinstance(body, dict) and "consents" in body:
        params.check_fields(body, {"consents"})
        items = body["consents"]
        if not isinstance(items, list) or not items:
            raise Refused([_err("", "consents", f"expected a list of 1 to {MAX_CONSENTS} "
                                "consents")])
        if len(items) > MAX_CONSENTS:
            raise Refused([_err("", "consents", f"at most {MAX_CONSENTS} consents in one "
                                "request", "H091")])
        listed = True
    elif isinstance(body, dict):
        items, listed = [body], False
    else:
        raise Refused([_err("", "body", "expected a consent object or {\"consents\": [...]}")])
    consents: list[Consent] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        consent, found = parse_item(item, index, f"consents[{index}]." if listed else "", now)
        errors += found
        if consent is not None:
            consents.append(consent)
    if errors:
        raise Refused(errors)
    return consents, listed


def first_movement_refusals(consents: list[Consent], known: set[tuple[str, str, str]],
                            listed: bool) -> list[dict[str, Any]]:
    """HS_KARAR (the brand's own decision to stop) may not be a key's first movement
    (IYS_API.md §3.3, §3.5): each HS_KARAR consent whose key has no movement known here —
    none in our view of İYS (``known``), none recorded before, none earlier in this request
    — is refused. It is a conflict with the recipient's state (409), not a malformed field:
    refreshing the state from İYS (GET …/consents?refresh=true) makes an ONAY that was
    given elsewhere known."""
    errors = []
    earlier: dict[tuple[str, str, str], datetime] = {}
    for c in sorted(consents, key=lambda c: (c.consent_date, c.index)):
        for key in c.keys():
            if c.source == "HS_KARAR" and key not in known and key not in earlier:
                where = f"consents[{c.index}]." if listed else ""
                errors.append(_err(where, "source", f"HS_KARAR cannot be the first movement "
                                   f"of {key[2]} for this recipient: nothing of it is known "
                                   "here or in İYS (refresh the state first if İYS may hold "
                                   "a consent given elsewhere; H175/H408)", "H408"))
            earlier.setdefault(key, c.consent_date)
    return errors
