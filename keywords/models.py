"""The parts of a rule set: brands, numbers and the problems validation reports."""

from __future__ import annotations

import re
from dataclasses import dataclass

from keywords.normalize import fold
from keywords.vocabulary import Vocabulary

REPLY_KEYS = ("RET", "ONAY", "ambiguous", "unknown_brand")
REPLY_PLACEHOLDERS = ("brand", "number")
BRAND_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")  # the brand-owner API's rule too


@dataclass(frozen=True)
class Conflict:
    number: str | None
    word: str
    meanings: tuple[str, ...]
    message: str


class RulesError(Exception):
    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__("; ".join(c.message for c in conflicts))
        self.conflicts = conflicts


@dataclass(frozen=True)
class Brand:
    id: str
    name: str
    iys_code: int
    brand_code: int
    aliases: tuple[str, ...] = ()
    vocabulary: Vocabulary = Vocabulary()
    replies: tuple[tuple[str, str], ...] = ()  # (outcome or status, template)
    review_auto_ret: bool = True  # the review queue's automatic RET (inbound/reviews.py)
    # the KVKK notice the consent-link page shows (inbound/web/pages_links.py): ("url", …)
    # or ("text", …); empty: the service's default
    privacy_notice: tuple[tuple[str, str], ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        """Folded words that name the brand: name, aliases and the İYS brand code."""
        found = [fold(self.name), *(fold(a) for a in self.aliases), str(self.brand_code)]
        return tuple(dict.fromkeys(p for p in found if p))


@dataclass(frozen=True)
class Number:
    msisdn: str
    shared: bool = False
    brand: str | None = None
    brands: tuple[str, ...] = ()      # shared number: the brands it serves (empty: all)
    vocabulary: Vocabulary = Vocabulary()
    replies: tuple[tuple[str, str], ...] = ()


def msisdn_variants(value: str) -> set[str]:
    """Spellings of one number as an SMSC may send it: 908505320000, 08505320000, 8505320000."""
    digits = "".join(ch for ch in value if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    variants = {digits}
    if len(digits) == 12 and digits.startswith("90"):
        variants |= {digits[2:], "0" + digits[2:]}
    elif len(digits) == 11 and digits.startswith("0"):
        variants |= {digits[1:], "90" + digits[1:]}
    elif len(digits) == 10 and digits[0] in "58":
        variants |= {"0" + digits, "90" + digits}
    return variants
