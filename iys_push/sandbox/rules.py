"""The İYS contract's validation and per-key state rules (IYS_API.md §3, §3.5, §4), pure.

Validation returns every error at once, as İYS does (422 with an ``errors`` list, each with
``location`` and ``value``); business rules return the first failing code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers

from iys_push.calendar import within_three_business_days
from iys_push.timefmt import TR, parse_iys

ALLOWED_FIELDS = {"recipientType", "retailerAccess", "recipient", "retailerCode", "source",
                  "type", "consentDate", "status"}
HS_SOURCES = {"HS_2015", "HS_KARAR", "HS_FIZIKSEL_ORTAM", "HS_ISLAK_IMZA", "HS_ETKINLIK",
              "HS_ATM", "HS_EORTAM", "HS_WEB", "HS_MOBIL", "HS_MESAJ", "HS_EPOSTA",
              "HS_CAGRI_MERKEZI", "HS_SOSYAL_MEDYA"}
EARLIEST = datetime(2015, 5, 1, tzinfo=TR)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")

MESSAGES = {
    "H014": "İstek gövdesi geçerli bir JSON olmalıdır.",
    "H110": "status alanı zorunludur.", "H111": "type alanı zorunludur.",
    "H112": "consentDate alanı zorunludur.", "H113": "source alanı zorunludur.",
    "H114": "recipient alanı zorunludur.",
    "H115": "İzin durumu (status) ONAY veya RET olmalıdır.",
    "H116": "Alıcı tipi (recipientType) BIREYSEL veya TACIR olmalıdır.",
    "H117": "İzin tipi (type) ARAMA, MESAJ veya EPOSTA olmalıdır.",
    "H118": "İstekte tanımsız alan bulunmaktadır.",
    "H119": "source alanı geçerli bir kaynak olmalıdır.",
    "H120": "Alıcı (recipient) geçerli bir e-posta adresi olmalıdır.",
    "H121": "Alıcı (recipient) E.164 formatında bir telefon numarası olmalıdır.",
    "H155": "HS_2015 kaynağı için tarih 2015-05-01 00:00:00 olmalıdır.",
    "H156": "01/05/2015 tarihinden önceki izinler kabul edilmez.",
    "H157": "Tarih geçerli değildir.",
    "H158": "consentDate yyyy-MM-dd HH:mm:ss formatında olmalıdır.",
    "H160": "Telefon numarası 15 karakterden uzun olamaz.",
    "H162": "Gelecek tarihli izin kaydedilemez.",
    "H174": "İzin durumu (status) güncellemesi için farklı bir durum girilmelidir. "
            "İzin durumu: {status}",
    "H175": "İlk izin kayıt işlemlerinde RET durum (status) bilgisi içeren izinler kaydedilmez.",
    "H178": "Sistemdeki iznin tarihinden önceki tarihli izinlerle güncelleme yapılamaz.",
    "H267": "Değer boş string veya null olmamalıdır.",
    "H408": "HS_KARAR kaynağı yalnızca RET durumu ile kullanılabilir.",
    "H459": "Telefon numarası için izin tipi MESAJ veya ARAMA olmalıdır.",
    "H462": "TACIR güncellemesinde consentDate zorunludur.",
    "H463": "TACIR güncellemesinde source zorunludur.",
    "H464": "İzin tipi (type) MESAJ için, alıcı (recipient) telefon formatında olmalıdır.",
    "H467": "Üç iş günü öncesinde alınan izinler kaydedilemez.",
}


def error(code: str, location: str | None = None, value: Any = None,
          index: int | None = None, **fmt: str) -> dict[str, Any]:
    item: dict[str, Any] = {"code": code, "message": MESSAGES.get(code, code).format(**fmt)}
    if location is not None:
        item["location"] = [location]
        item["value"] = value
    if index is not None:
        item["index"] = index
    return item


def is_phone(value: str) -> bool:
    if not value.startswith("+") or not value[1:].isdigit():
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


@dataclass(frozen=True)
class Consent:
    recipient: str
    type: str
    status: str
    recipient_type: str
    source: str | None
    consent_date: datetime | None
    raw: dict[str, Any]

    @property
    def key_tail(self) -> tuple[str, str, str]:
        return (self.recipient, self.recipient_type, self.type)


def validate(body: Any, now: datetime, index: int | None = None
             ) -> tuple[Consent | None, list[dict[str, Any]]]:
    """Field validation of one consent (IYS_API.md §2.1, §3); every error, not the first."""
    if not isinstance(body, dict):
        return None, [error("H085", index=index)]
    errs: list[dict[str, Any]] = []
    for key in sorted(set(body) - ALLOWED_FIELDS):
        errs.append(error("H118", key, body[key], index))
    for key in ("retailerCode", "retailerAccess", "recipientType", "source", "consentDate"):
        if key in body and body[key] in ("", None):
            errs.append(error("H267", key, body[key], index))
    recipient_type = body.get("recipientType") or "BIREYSEL"
    if recipient_type not in ("BIREYSEL", "TACIR"):
        errs.append(error("H116", "recipientType", recipient_type, index))
    required = [("status", "H110"), ("type", "H111"), ("recipient", "H114")]
    if recipient_type != "TACIR":  # a TACIR first add may omit them; updates are checked later
        required += [("consentDate", "H112"), ("source", "H113")]
    for key, code in required:
        if body.get(key) in (None, ""):
            errs.append(error(code, key, body.get(key), index))
    status, itype, recipient = body.get("status"), body.get("type"), body.get("recipient")
    if status not in (None, "", "ONAY", "RET"):
        errs.append(error("H115", "status", status, index))
    if itype not in (None, "", "ARAMA", "MESAJ", "EPOSTA"):
        errs.append(error("H117", "type", itype, index))
    source = body.get("source") or None
    if source is not None and source not in HS_SOURCES:
        errs.append(error("H119", "source", source, index))
    if source == "HS_KARAR" and status == "ONAY":
        errs.append(error("H408", "source", source, index))
    if isinstance(recipient, str) and recipient:
        if itype in ("MESAJ", "ARAMA"):
            if len(recipient) > 15:
                errs.append(error("H160", "recipient", recipient, index))
            elif not is_phone(recipient):
                errs.append(error("H464" if "@" in recipient else "H121", "recipient",
                                  recipient, index))
        elif itype == "EPOSTA":
            if is_phone(recipient):
                errs.append(error("H459", "type", itype, index))
            elif not _EMAIL.match(recipient) or not 6 <= len(recipient) <= 265:
                errs.append(error("H120", "recipient", recipient, index))
    consent_date = None
    raw_date = body.get("consentDate")
    if isinstance(raw_date, str) and raw_date:
        consent_date = _check_date(raw_date, source, now, index, errs)
    elif raw_date not in (None, ""):
        errs.append(error("H158", "consentDate", raw_date, index))
    if errs:
        return None, errs
    recipient_norm = recipient.lower() if itype == "EPOSTA" else recipient
    return Consent(recipient_norm, itype, status, recipient_type, source, consent_date,
                   body), []


def _check_date(raw: str, source: str | None, now: datetime, index: int | None,
                errs: list[dict[str, Any]]) -> datetime | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", raw):
        errs.append(error("H158", "consentDate", raw, index))
        return None
    try:
        moment = parse_iys(raw)
    except ValueError:
        errs.append(error("H157", "consentDate", raw, index))
        return None
    if source == "HS_2015":
        if moment != EARLIEST:
            errs.append(error("H155", "consentDate", raw, index))
        return moment
    if moment < EARLIEST:
        errs.append(error("H156", "consentDate", raw, index))
    elif moment > now:
        errs.append(error("H162", "consentDate", raw, index))
    elif not within_three_business_days(moment, now):
        errs.append(error("H467", "consentDate", raw, index))
    return moment


@dataclass
class Movement:
    brand_code: int
    recipient: str
    recipient_type: str
    type: str
    status: str
    source: str
    consent_date: datetime | None
    creation_date: datetime
    transaction_id: str


def business_rule(consent: Consent, current: Movement | None) -> dict[str, Any] | None:
    """The per-key state machine (§3.5): H175, H174, H178, TACIR updates (H462/H463)."""
    if current is None:
        if consent.status == "RET":
            return error("H175")
        if consent.source == "HS_KARAR":
            return error("H408")
        return None
    if consent.recipient_type == "TACIR":
        if consent.consent_date is None:
            return error("H462")
        if consent.source is None:
            return error("H463")
    if consent.status == "RET" and current.status == "RET":
        return error("H174", status="RET")
    if (consent.consent_date is not None and current.consent_date is not None
            and consent.consent_date <= current.consent_date):
        return error("H178")
    return None
