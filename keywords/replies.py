"""Confirmation replies: per-brand templates with Turkish defaults.

Never a reply to a receipt or to a text with no keyword (an auto-responder's message must
not start a conversation); the service also limits replies per recipient and number.
Templates may use ``{brand}`` (the brand's name) and ``{number}``.
"""

from __future__ import annotations

from keywords.rules import RuleSet

DEFAULTS = {
    "tr": {
        "RET": "{brand} ticari ileti listesinden çıkışınız alındı. İYS'ye bildirilecektir.",
        "ONAY": "{brand} ticari ileti izniniz alındı. Vazgeçmek için RET {brand} yazıp "
                "gönderebilirsiniz.",
        "ambiguous": "Mesajınız anlaşılamadı. Çıkmak için RET MARKA, izin için IZIN MARKA "
                     "yazıp gönderin.",
        "unknown_brand": "Yazdığınız marka bu numarada bulunamadı. Çıkmak için RET MARKA "
                         "yazıp gönderin.",
    },
    "en": {
        "RET": "You have been removed from {brand}'s commercial messages; İYS will be "
               "notified.",
        "ONAY": "Your consent to {brand}'s commercial messages is recorded. Send RET {brand} "
                "to withdraw it.",
        "ambiguous": "Your message was not understood. Send RET BRAND to opt out or "
                     "IZIN BRAND to opt in.",
        "unknown_brand": "That brand is not known on this number. Send RET BRAND to opt out.",
    },
}
_REPLY_OUTCOMES = ("consent", "ambiguous", "unknown_brand")


def render_reply(rules: RuleSet, brand_id: str | None, outcome: str, status: str | None = None,
                 *, language: str = "tr", number: str | None = None) -> str | None:
    """The confirmation text for one decision, or None when no reply should be sent.

    A number's template beats its brand's, which beats the default of ``language`` (Turkish
    when the language has no defaults). An empty template switches that reply off.
    """
    if outcome not in _REPLY_OUTCOMES:
        return None
    key = status if outcome == "consent" else outcome
    if key is None:
        return None
    template = DEFAULTS.get(language, DEFAULTS["tr"]).get(key)
    name = ""
    if brand_id is not None:
        brand = rules.brands_by_id.get(brand_id)
        if brand is None:  # rules changed under the message: better silent than wrong
            return None
        name = brand.name
        template = dict(brand.replies).get(key, template)
    if number is not None and (found := rules.number_for(number)) is not None:
        template = dict(found.replies).get(key, template)
    if not template:
        return None
    return template.replace("{brand}", name).replace("{number}", number or "")
