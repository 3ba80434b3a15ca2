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
from iys_push.timefmt import TR, format_iys, parse_iys

ALLOWED_FIELDS = {"recipientType", "retailerAccess", "recipient", "retailerCode", "source",
                  "type", "consentDate", "status"}
HS_SOURCES = {"HS_2015", "HS_KARAR", "HS_FIZIKSEL_ORTAM", "HS_ISLAK_IMZA", "HS_ETKINLIK",
              "HS_ATM", "HS_EORTAM", "HS_WEB", "HS_MOBIL", "HS_MESAJ", "HS_EPOSTA",
              "HS_CAGRI_MERKEZI", "HS_SOSYAL_MEDYA"}
EARLIEST = datetime(2015, 5, 1, tzinfo=TR)
MAX_RETAILER_ACCESS = 3000  # schema maxItems; the code table says 100 (§3.6, inconsistent)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}$")

MESSAGES = {
    "H014": "İstek gövdesi geçerli bir JSON olmalıdır.",
    "H085": "İzin ekleme isteği geçerli olmalıdır.",
    "H092": "Çoklu izin ekleme isteği geçerli olmalıdır.",
    "H097": "İzin sorgulama isteği geçerli olmalıdır.",
    "H103": "Sunucu tarafında arama işlemi başarısız oldu.",
    "H123": "Servis şu anda yoğun, lütfen daha sonra tekrar deneyiniz.",
    "H124": "Saniyede kabul edilen istek limitine ulaşıldı.",
    "H192": "İstek zaman aşımına uğradı.",
    "H190": "iysCode tam sayı olmalıdır.", "H191": "brandCode tam sayı olmalıdır.",
    "H193": "Listede tekrarlanan alıcı (recipient) bulunmaktadır.",
    "H194": "Aynı listede aynı alıcı, alıcı tipi ve izin tipi bir kez yer alabilir.",
    "H198": "requestId 36 karakterden uzun olamaz.",
    "H199": "requestId yalnızca harflerden oluşamaz.",
    "H400": "requestId yalnızca rakamlardan oluşamaz.",
    "H351": "Geçersiz ya da süresi dolmuş jeton.",
    "H353": "iysCode / brandCode yetkileriniz ile uyuşmuyor.",
    "H470": "Beklenmedik bir hata oluştu!",
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
    "H122": "Alıcı (recipient) E.164 telefon numarası ya da geçerli bir e-posta olmalıdır.",
    "H126": "retailerAccess listesi en fazla 3000 bayi içerebilir.",
    "H163": "Bayi listesi boş olmamalıdır.",
    "H166": "Alıcı (recipient) reddedildi: telefon numarası 15 karakterden uzun olamaz.",
    "H170": "recipientType alanı zorunludur.",
    "H164": "recipients listesi boş olmamalıdır.",
    "H168": "recipients listesi zorunludur.",
    "H478": "recipients bir liste olmalıdır.",
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


def is_email(value: str) -> bool:
    """§3.1: ASCII only, no spaces or specials, '+' labels allowed, 6–265 characters.

    İYS's exact regex is UNCONFIRMED (the regex101 link is gone); this is a reasonable one.
    """
    return bool(_EMAIL.match(value)) and 6 <= len(value) <= 265


def is_phone(value: str) -> bool:
    if not value.startswith("+") or not value[1:].isdigit():
        return False
    if len(value) == 13 and value.startswith("+90"):
        # a Turkish number: libphonenumber's own patterns, compiled once (the fast
        # normaliser of inbound.presend_numbers; ~1 µs instead of ~150 µs a number, which
        # made the stand-in, not the pusher, the limit of a bulk import's bench)
        from inbound.presend_numbers import Normaliser
        return Normaliser("ARAMA")(value) is not None
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


def _missing(body: dict[str, Any], key: str) -> bool:
    return body.get(key) in (None, "")


def _check_recipient(recipient: Any, itype: Any, index: int | None,
                     errs: list[dict[str, Any]], too_long: str = "H160") -> None:
    """Recipient format and its agreement with ``type`` (§3.1): H121/H160, H120, H464/H459."""
    if not isinstance(recipient, str):
        errs.append(error("H122", "recipient", recipient, index))
    elif itype in ("MESAJ", "ARAMA"):
        if "@" in recipient:
            errs.append(error("H464", "recipient", recipient, index))
        elif len(recipient) > 15:
            errs.append(error(too_long, "recipient", recipient, index))
        elif not is_phone(recipient):
            errs.append(error("H121", "recipient", recipient, index))
    elif itype == "EPOSTA":
        if recipient.startswith("+") or recipient.isdigit():
            errs.append(error("H459", "type", itype, index))
        elif not is_email(recipient):
            errs.append(error("H120", "recipient", recipient, index))


def _check_retailers(body: dict[str, Any], index: int | None,
                     errs: list[dict[str, Any]]) -> None:
    code = body.get("retailerCode")
    if code not in (None, "") and (not isinstance(code, int) or isinstance(code, bool)):
        errs.append(error("H085", "retailerCode", code, index))
    access = body.get("retailerAccess")
    if access in (None, ""):
        return
    if not isinstance(access, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) for a in access):
        errs.append(error("H085", "retailerAccess", access, index))
    elif not access:
        errs.append(error("H163", "retailerAccess", access, index))
    elif len(access) > MAX_RETAILER_ACCESS:
        errs.append(error("H126", "retailerAccess", len(access), index))


def validate(body: Any, now: datetime, index: int | None = None
             ) -> tuple[Consent | None, list[dict[str, Any]]]:
    """Field validation of one consent (IYS_API.md §2.1, §3); every error, not the first."""
    if not isinstance(body, dict):
        return None, [error("H085", index=index)]
    errs: list[dict[str, Any]] = []
    for key in sorted(set(body) - ALLOWED_FIELDS):
        errs.append(error("H118", key, body[key], index))
    recipient_type = body.get("recipientType", "BIREYSEL")
    tacir = recipient_type == "TACIR"
    # Optional fields must be omitted, not sent empty (§1.2); for TACIR, so are date and source.
    optional = ["retailerCode", "retailerAccess", "recipientType"]
    optional += ["source", "consentDate"] if tacir else []
    for key in optional:
        if key in body and _missing(body, key):
            errs.append(error("H267", key, body[key], index))
    if not _missing(body, "recipientType") and recipient_type not in ("BIREYSEL", "TACIR"):
        errs.append(error("H116", "recipientType", recipient_type, index))
    required = [("status", "H110"), ("type", "H111"), ("recipient", "H114")]
    if not tacir:  # a TACIR first add may omit them; updates are checked by business_rule
        required += [("consentDate", "H112"), ("source", "H113")]
    for key, code in required:
        if _missing(body, key):
            errs.append(error(code, key, body.get(key), index))
    status, itype, recipient = body.get("status"), body.get("type"), body.get("recipient")
    if not _missing(body, "status") and status not in ("ONAY", "RET"):
        errs.append(error("H115", "status", status, index))
    if not _missing(body, "type") and itype not in ("ARAMA", "MESAJ", "EPOSTA"):
        errs.append(error("H117", "type", itype, index))
    source = None if _missing(body, "source") else body["source"]
    if source is not None and (not isinstance(source, str) or source not in HS_SOURCES):
        errs.append(error("H119", "source", source, index))
    if source == "HS_KARAR" and status == "ONAY":
        errs.append(error("H408", "source", source, index))
    if not _missing(body, "recipient"):
        _check_recipient(recipient, itype, index, errs)
    _check_retailers(body, index, errs)
    consent_date = None
    raw_date = body.get("consentDate")
    if isinstance(raw_date, str) and raw_date:
        consent_date = _check_date(raw_date, source, now, index, errs)
    elif raw_date not in (None, ""):
        errs.append(error("H158", "consentDate", raw_date, index))
    if errs:
        return None, errs
    # İYS stores e-mail addresses in lower case (§3.1 rule 9); keys compare lower-cased.
    recipient_norm = recipient.lower() if itype == "EPOSTA" else recipient
    return Consent(recipient_norm, itype, status, recipient_type, source, consent_date,
                   body), []


def validate_lookup(body: Any) -> tuple[tuple[str, str, str] | None, list[dict[str, Any]]]:
    """The three key fields of a status query (§2.4): H114, H170, H111, H116, H117, H166, …"""
    if not isinstance(body, dict):
        return None, [error("H097")]
    errs: list[dict[str, Any]] = []
    for key, code in (("recipient", "H114"), ("recipientType", "H170"), ("type", "H111")):
        if _missing(body, key):
            errs.append(error(code, key, body.get(key)))
    rtype, itype, recipient = body.get("recipientType"), body.get("type"), body.get("recipient")
    if not _missing(body, "recipientType") and rtype not in ("BIREYSEL", "TACIR"):
        errs.append(error("H116", "recipientType", rtype))
    if not _missing(body, "type") and itype not in ("ARAMA", "MESAJ", "EPOSTA"):
        errs.append(error("H117", "type", itype))
    if not _missing(body, "recipient"):
        _check_recipient(recipient, itype, None, errs, too_long="H166")
    if errs:
        return None, errs
    return (recipient.lower() if itype == "EPOSTA" else recipient, rtype, itype), []


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
        elif not within_three_business_days(moment, now):
            # §3.4 leaves open how HS_2015 meets the three-business-day rule (UNCONFIRMED);
            # the rule has no exception, so its fixed date is always too old (issue #28)
            errs.append(error("H467", "consentDate", raw, index))
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
    # where a batch item came from, for v2's originalRequestInformation (§2.3)
    origin: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"brandCode": self.brand_code, "recipient": self.recipient,
                "recipientType": self.recipient_type, "type": self.type,
                "status": self.status, "source": self.source,
                "consentDate": format_iys(self.consent_date) if self.consent_date else "",
                "creationDate": format_iys(self.creation_date),
                "transactionId": self.transaction_id}


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
