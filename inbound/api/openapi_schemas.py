"""JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of the API's bodies.

Kept next to the code that produces the bodies and checked against real answers by the
schemathesis test, so the document stays true.
"""

from __future__ import annotations

from typing import Any

from inbound.api.inputs import CODE_MAX, DATE_TIME_PATTERN, END, ID_MAX, UNSAFE_CHARS

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
INT = {"type": "integer"}
NINT = {"type": ["integer", "null"]}
TIME = {"type": "string", "format": "date-time"}
NTIME = {"type": ["string", "null"], "format": "date-time"}
BOOL = {"type": "boolean"}
ROLE = {"type": "string", "enum": ["viewer", "agent", "admin"]}
# text that is shown or sent: no control characters, bidi marks or separators (written as
# ``not``: a pattern with ``$`` would let a final newline through in Python)
SAFE: dict[str, Any] = {"not": {"pattern": f"[{UNSAFE_CHARS}]"}}
NO_NUL: dict[str, Any] = {"not": {"pattern": "\x00"}}


def text(max_length: int, *, empty: bool = False) -> dict[str, Any]:
    """Shown or sent text: not blank (unless ``empty``), no control or bidi characters."""
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length, **SAFE}
    if not empty:
        schema.update(minLength=1, pattern=r"\S")
    return schema


def words(max_length: int, max_items: int = 50) -> dict[str, Any]:
    return {"type": "array", "items": text(max_length), "maxItems": max_items}


def anchored(pattern: str) -> str:
    return f"^{pattern}{END}"


BRAND_ID = {"type": "string", "pattern": anchored("[a-z0-9][a-z0-9_-]{0,62}")}
MSISDN = {"type": "string", "pattern": anchored("[0-9]{3,15}")}
CODE = {"type": "integer", "minimum": 1, "maximum": CODE_MAX}
ID = {"type": "integer", "minimum": 1, "maximum": ID_MAX}
WORDS = words(40)


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: list[str] | None = None, *,
        closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties,
                              "required": required if required is not None else list(properties)}
    if closed:
        schema["additionalProperties"] = False
    return schema


def page(item: str) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": ref(item)}, "next_cursor": NSTR})


def listing(item: str) -> dict[str, Any]:
    return obj({"items": {"type": "array", "items": ref(item)}})


VOCABULARY = obj({
    "extra_opt_out": WORDS, "removed_opt_out": WORDS, "extra_opt_in": WORDS,
    "removed_opt_in": WORDS,
    "extra_channels": {"type": "object", "maxProperties": 50,
                       "propertyNames": text(40),
                       "additionalProperties": {"type": "array", "minItems": 1, "items": {
                           "enum": ["MESAJ", "ARAMA"]}}},
}, required=[])
VOCABULARY["description"] = ("Words added to or removed from the default opt-out (RET, IPTAL …) "
                             "and opt-in (IZIN, ONAY …) words, and extra channel words.")

REPLIES = obj({k: text(640, empty=True) for k in
               ("RET", "ONAY", "ambiguous", "unknown_brand")}, required=[])
REPLIES["description"] = ("Reply templates by outcome; {brand} and {number} are filled in; an "
                          "empty template switches that reply off. They go out by SMS: no "
                          "control characters or bidirectional marks.")

BRAND_NAME = text(200) | {"description": "shown on the page; it must give a keyword (letters "
                                         "or digits), else the rules refuse it (409)"}
PRIVACY_NOTICE: dict[str, Any] = {"oneOf": [
    obj({"url": {"type": "string", "maxLength": 500,
                 "pattern": anchored(f"https?://[^\\s{UNSAFE_CHARS}]+")}}),
    obj({"text": text(2000)})]}
_BRAND_FIELDS: dict[str, Any] = {
    "name": BRAND_NAME,
    "aliases": words(100),
    "iys_code": CODE,
    "brand_code": CODE,
    "owner_id": {"type": ["integer", "null"], "minimum": 1, "maximum": ID_MAX,
                 "description": "operator only: the owner the brand belongs to (null: none)"},
    "vocabulary": ref("Vocabulary"),
    "replies": ref("Replies"),
    "review_auto_ret": {**BOOL, "description": "a review item (near miss) still unreviewed at "
                                               "90 % of its window becomes a RET by itself "
                                               "(default true); false leaves it to a person"},
    "privacy_notice": {"oneOf": [PRIVACY_NOTICE, {"type": "null"}],
                       "description": "the KVKK notice on the consent-link page: a link to "
                                      "the brand's own or a short text (null: the service's "
                                      "default, [consent_links] privacy_notice_*)"},
}

_NUMBER_FIELDS: dict[str, Any] = {
    "shared": BOOL,
    "brand": {"type": ["string", "null"], "pattern": BRAND_ID["pattern"],
              "description": "a dedicated number's brand"},
    "brands": {"type": "array", "items": BRAND_ID, "maxItems": 500,
               "description": "a shared number's brands (empty: every brand)"},
    "links": words(100) | {"description": "the SMPP links that serve this number"},
    "vocabulary": ref("Vocabulary"),
    "replies": ref("Replies"),
}

STATES = ["pending", "accepted", "not_needed", "superseded", "duplicate", "failed", "review",
          "dismissed"]
REVIEW_FIELDS: dict[str, Any] = {
    "review_decision": {"enum": ["confirmed", "dismissed", "automatic", None],
                        "description": "how a review item was decided (automatic: unreviewed "
                                       "at 90 % of its window)"},
    "reviewed_at": NTIME,
    "reviewed_by": {**NSTR, "description": "owner:ID, token:ID, admin or system"},
}

_EVENT = obj({
    "id": INT,
    "message_id": {**NINT, "description": "the SMS it came from (null: recorded through the "
                                          "API, the CLI or the page)"},
    "submission_id": {**NINT, "description": "the recorded consent it came from (issue #28)"},
    "brand_id": STR, "recipient": STR,
    "recipient_type": {"enum": ["BIREYSEL", "TACIR"]}, "type": {"enum": ["MESAJ", "ARAMA",
                                                                         "EPOSTA"]},
    "status": {"enum": ["ONAY", "RET"]}, "source": STR,
    "state": {"enum": STATES},
    "received_at": TIME, "consent_date": TIME, "deadline_at": TIME, "attempts": INT,
    "iys_transaction_id": NSTR, "iys_creation_date": NTIME, "last_error_code": NSTR,
    "last_error": NSTR, "created_at": TIME, "updated_at": TIME,
    **REVIEW_FIELDS,
})

_REVIEW_ITEM = obj({
    "id": INT, "message_id": INT, "brand_id": STR, "recipient": STR,
    "recipient_type": {"enum": ["BIREYSEL", "TACIR"]}, "type": {"enum": ["MESAJ", "ARAMA",
                                                                         "EPOSTA"]},
    "status": {"enum": ["RET"]}, "state": {"enum": STATES},
    "received_at": TIME, "consent_date": TIME, "deadline_at": TIME,
    "auto_ret_at": {**TIME, "description": "90 % of the window: the item becomes its RET by "
                                           "itself then, unless auto_ret is false"},
    "seconds_left": {"type": "number", "minimum": 0,
                     "description": "seconds to the deadline (0 when past)"},
    **REVIEW_FIELDS,
    "text": NSTR, "destination_addr": NSTR, "reason": NSTR,
    "auto_ret": {**BOOL, "description": "the brand's review_auto_ret setting"},
})

_MESSAGE_FIELDS: dict[str, Any] = {
    "id": INT, "link": STR, "received_at": TIME, "completed_at": TIME, "sender": NSTR,
    "destination_addr": NSTR, "text": NSTR, "normalized": NSTR, "outcome": STR, "reason": STR,
}

_PDU = obj({
    "id": INT, "link": STR, "received_at": TIME, "command": STR, "sequence": NINT,
    "pdu_base64": {"type": "string", "description": "the PDU exactly as received"},
    "fields": {"type": ["object", "null"]}, "source_addr": NSTR, "destination_addr": NSTR,
    "kind": STR, "data_coding": NINT, "encoding": NSTR, "text": NSTR, "redelivery_of": NINT,
})

_ATTEMPT = obj({
    "id": INT, "started_at": TIME, "latency_ms": {"type": "number"}, "method": STR, "path": STR,
    "request": {}, "http_status": NINT, "response": NSTR, "code": NSTR, "outcome": STR,
})

_IYS_CHANGE = obj({
    "transaction_id": STR, "recipient_type": STR, "type": STR, "status": STR, "source": STR,
    "consent_date": NTIME, "creation_date": NTIME, "pulled_at": TIME,
})

# a number that is not shared names its brand
DEDICATED_NEEDS_BRAND: dict[str, Any] = {
    "if": {"properties": {"shared": {"const": True}}, "required": ["shared"]},
    "else": {"required": ["brand"], "properties": {"brand": {"type": "string"}}},
}
_VOCABULARY_FIELDS = {k: v for k, v in VOCABULARY["properties"].items()}
BRAND_RULE = obj({"id": BRAND_ID, "name": BRAND_NAME, "aliases": words(100),
                  "iys_code": CODE, "brand_code": CODE,
                  "owner": ID | {"description": "operator only: the brand's owner"},
                  "replies": REPLIES, **_VOCABULARY_FIELDS,
                  "review_auto_ret": _BRAND_FIELDS["review_auto_ret"],
                  "privacy_notice": PRIVACY_NOTICE},
                 ["id", "name", "iys_code", "brand_code"])
NUMBER_RULE = obj({"msisdn": MSISDN, "shared": BOOL, "brand": BRAND_ID,
                   "brands": _NUMBER_FIELDS["brands"], "replies": REPLIES,
                   **_VOCABULARY_FIELDS}, ["msisdn"]) | DEDICATED_NEEDS_BRAND

# -- consents from the brand's own channels (issue #28; inbound/consents.py) --------------
_TYPES = ["MESAJ", "ARAMA", "EPOSTA"]
_CONSENT_SOURCES = ["HS_WEB", "HS_MOBIL", "HS_CAGRI_MERKEZI", "HS_ISLAK_IMZA", "HS_EPOSTA",
                    "HS_FIZIKSEL_ORTAM", "HS_ETKINLIK", "HS_ATM", "HS_EORTAM", "HS_MESAJ",
                    "HS_SOSYAL_MEDYA", "HS_KARAR"]
CONSENT_INPUT = obj({
    "recipient": text(300) | {
        "description": "MESAJ/ARAMA: a Turkish phone number in any common form (0532 123 45 "
                       "67, 5321234567, +90 532 …, 905321234567), stored as +90…; it must "
                       "exist in the numbering plan (MESAJ: a mobile). EPOSTA: an e-mail "
                       "address İYS accepts (ASCII, no spaces or special characters, 6-265 "
                       "characters), stored lower-cased. Otherwise 422 (H121/H120)."},
    "type": {"oneOf": [{"enum": _TYPES},
                       {"type": "array", "items": {"enum": ["MESAJ", "ARAMA"]},
                        "minItems": 1, "maxItems": 2, "uniqueItems": True}],
             "description": "a type, or a list of the phone types MESAJ and ARAMA (one event "
                            "each); EPOSTA, whose recipient is an e-mail address, only alone"},
    "status": {"enum": ["ONAY", "RET"]},
    "source": {"enum": _CONSENT_SOURCES,
               "description": "İYS's HS_* source (IYS_API.md §3.3). HS_KARAR: only RET, and "
                              "not as the first movement known of the key (409). HS_2015 is "
                              "refused (422 H155): İYS takes it only dated 2015-05-01, which "
                              "the three-business-day rule always refuses."},
    "recipient_type": {"enum": ["BIREYSEL", "TACIR"], "description": "default BIREYSEL"},
    "consent_date": {"type": "string", "format": "date-time",
                     "pattern": DATE_TIME_PATTERN,
                     "description": "the moment the person gave it, RFC 3339 with its offset; "
                                    "not before 2015-05-01 (H156), not in the future (H162), "
                                    "not older than three Turkish business days (H467): the "
                                    "last two move with the clock, so the document cannot "
                                    "state them as a schema"},
    "evidence": {"type": "object", "maxProperties": 20, "propertyNames": text(40),
                 "additionalProperties": {"oneOf": [
                     text(500, empty=True), {"type": "integer", "minimum": -(2**53),
                                             "maximum": 2**53},
                     BOOL, {"type": "null"}]},
                 "description": "form id, call id, IP, notes …: stored and shown on the "
                                "evidence page, never sent to İYS"},
}, ["recipient", "type", "status", "source", "consent_date"])
_STATE_EVENT = obj({"id": INT, "status": {"enum": ["ONAY", "RET"]}, "source": STR,
                    "state": {"enum": ["pending", "review"]}, "consent_date": TIME,
                    "deadline_at": TIME, "last_error_code": NSTR})
_KEY_STATE = obj({
    "recipient_type": {"enum": ["BIREYSEL", "TACIR"]}, "type": {"enum": _TYPES},
    "status": {"enum": ["ONAY", "RET", None],
               "description": "the last movement İYS holds as far as known here (null: none "
                              "known)"},
    "consent_date": NTIME, "source": NSTR, "transaction_id": NSTR,
    "known_from": {"enum": ["push", "pull", "status", "status_date", None],
                   "description": "our accepted push, the pulled İYS changes, or a status "
                                  "query"},
    "as_of": NTIME,
    "pending": {"type": "array", "items": _STATE_EVENT,
                "description": "events of the key not yet in İYS, oldest first"},
    "refresh": obj({"outcome": {"enum": ["ok", "unknown", "error"]}, "detail": NSTR}),
}, ["recipient_type", "type", "status", "consent_date", "source", "transaction_id",
    "known_from", "as_of", "pending"])

SCHEMAS: dict[str, Any] = {
    "Problem": obj({
        "type": STR, "title": STR, "status": INT, "detail": STR,
        "errors": {"type": "array", "items": obj(
            {"field": STR, "reason": STR, "word": STR, "number": STR,
             "code": {**STR, "description": "İYS's error code for this refusal (H121 …)"}},
            ["field", "reason"])},
    }, ["type", "title", "status", "detail"]),
    "Me": obj({"admin": BOOL, "owner": {"oneOf": [ref("Owner"), {"type": "null"}]},
               "token_id": NINT}),
    "Owner": obj({"id": INT, "name": STR, "email": NSTR, "created_at": TIME}),
    "OwnerInput": obj({"name": text(200),
                       "email": {"type": ["string", "null"], "maxLength": 254, "pattern": anchored(
                           f"[^@\\s{UNSAFE_CHARS}]+@[^@\\s{UNSAFE_CHARS}]+")}}, ["name"]),
    "OwnerList": listing("Owner"),
    "Token": obj({"id": INT, "owner_id": NINT, "admin": BOOL, "name": STR, "created_at": TIME,
                  "revoked_at": NTIME, "last_used_at": NTIME, "role": ROLE}),
    "TokenCreated": obj({"id": INT, "owner_id": NINT, "admin": BOOL, "name": STR,
                         "created_at": TIME, "revoked_at": NTIME, "last_used_at": NTIME,
                         "role": ROLE,
                         "token": {"type": "string", "pattern": "^iysk_",
                                   "description": "shown once; only its SHA-256 is stored"}}),
    "TokenInput": obj({"name": text(200) | {"description": "default: api"},
                       "owner_id": ID | {"description": "the operator names the owner of a "
                                         "non-admin token (without it and without admin: "
                                         "403); an owner's token is its own"},
                       "admin": BOOL, "role": ROLE | {"description": "viewer reads; agent also "
                                                      "records consents and decides reviews; "
                                                      "admin (default) everything"}}, []),
    "TokenList": listing("Token"),
    "Vocabulary": VOCABULARY,
    "Replies": REPLIES,
    "Brand": obj({"id": STR, "name": STR, "aliases": {"type": "array", "items": STR},
                  "iys_code": INT, "brand_code": INT, "owner_id": NINT,
                  "vocabulary": ref("Vocabulary"), "replies": ref("Replies"),
                  "review_auto_ret": BOOL,
                  "privacy_notice": {"oneOf": [PRIVACY_NOTICE, {"type": "null"}]}}),
    "BrandInput": obj({"id": BRAND_ID, **_BRAND_FIELDS},
                      ["id", "name", "iys_code", "brand_code"]),
    "BrandPatch": obj(dict(_BRAND_FIELDS), []),
    "BrandList": listing("Brand"),
    "Number": obj({"msisdn": STR, "shared": BOOL, "brand": NSTR,
                   "brands": {"type": "array", "items": STR},
                   "links": {"type": "array", "items": STR},
                   "vocabulary": ref("Vocabulary"), "replies": ref("Replies")}),
    "NumberInput": obj({"msisdn": MSISDN, **_NUMBER_FIELDS}, ["msisdn"]) | DEDICATED_NEEDS_BRAND,
    "NumberPatch": obj(dict(_NUMBER_FIELDS), []) | {
        "description": "a change that would leave a dedicated number without a brand is "
                       "refused as a conflict with the number as it is (409)"},
    "NumberList": listing("Number"),
    "Rules": obj({"number": {"type": "array", "items": NUMBER_RULE},
                  "brand": {"type": "array", "items": BRAND_RULE}}, []) | {
        "description": "the rules file (see `rules import`); as TOML the same tables"},
    "AuditEntry": obj({
        "id": INT, "at": TIME,
        "actor": obj({"admin": BOOL, "owner_id": NINT, "token_id": NINT,
                      "via": {"enum": ["api", "web", "cli"],
                              "description": "where the change was made"}}),
        "action": STR, "resource": STR, "resource_id": STR, "before": {}, "after": {}}),
    "AuditPage": page("AuditEntry"),
    "Message": obj(_MESSAGE_FIELDS),
    "MessagePage": page("Message"),
    "Event": _EVENT,
    "EventPage": page("Event"),
    "ReviewItem": _REVIEW_ITEM,
    "ReviewPage": page("ReviewItem"),
    "History": obj({
        "brand_id": STR, "recipient": STR,
        "messages": {"type": "array", "items": obj({
            **_MESSAGE_FIELDS, "source_addr": NSTR,
            "pdus": {"type": "array", "items": _PDU}})},
        "events": {"type": "array", "items": {"allOf": [
            {**_EVENT, "additionalProperties": True, "required": []},
            {"type": "object", "required": ["iys_attempts"],
             "properties": {"iys_attempts": {"type": "array", "items": _ATTEMPT}}}]}},
        "iys_changes": {"type": "array", "items": _IYS_CHANGE},
        "submissions": {"type": "array", "items": obj({
            "id": INT, "via": {"enum": ["api", "web", "cli"]}, "actor": STR,
            "recipient_input": STR, "consent_date": TIME, "evidence": {"type": "object"},
            "created_at": TIME})},
    }),
    "ConsentInput": CONSENT_INPUT,
    "ConsentRequest": {"oneOf": [ref("ConsentInput"), obj({"consents": {
        "type": "array", "items": ref("ConsentInput"), "minItems": 1, "maxItems": 1000}})],
        "description": "one consent, or {\"consents\": [...]} with at most 1,000"},
    "ConsentRecorded": obj({"consents": {"type": "array", "items": obj({
        "index": INT, "submission_id": INT, "recipient": STR,
        "recipient_type": {"enum": ["BIREYSEL", "TACIR"]}, "status": {"enum": ["ONAY", "RET"]},
        "source": STR, "consent_date": TIME, "deadline_at": TIME,
        "events": {"type": "array", "items": obj({
            "id": INT, "type": {"enum": _TYPES}, "state": {"enum": STATES}})}})}}),
    "ConsentState": obj({"brand_id": STR, "recipient": STR, "as_of": TIME,
                         "states": {"type": "array", "items": _KEY_STATE}}),
    "ExplainInput": obj({"number": MSISDN,
                         "text": {"type": "string", "maxLength": 1600, **NO_NUL}}),
    "Explanation": obj({
        "outcome": STR, "normalized": STR, "reason": STR,
        "events": {"type": "array", "items": obj({
            "brand": STR, "status": {"enum": ["ONAY", "RET"]},
            "types": {"type": "array", "items": STR},
            "recipient_type": {"enum": ["BIREYSEL", "TACIR"]}})}}),
}
