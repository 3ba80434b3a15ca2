"""Near misses without depending on the grammar's exact words.

The keyword grammar (keywords/) decides which texts are near misses; the review queue's
tests only need *some* text to come out as ``needs_review``. ``patch_near_misses`` makes
``inbound.building.match`` answer ``needs_review`` for the given texts (with the RET a
confirmation would create for the given brand) and defer to the real matcher otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import asyncpg
import pytest

from inbound import building
from iys_push import calendar
from keywords import Decision, EventSpec, RuleSet

# texts no grammar reads as a command (so the real matcher never gets them here)
NEAR_MISS = "lutfen artik bana yazmayin zzq"
OTHER_NEAR_MISS = "bu mesajlari istemiyorum zzq"


def near_miss_decision(brand_id: str, number: str, text: str) -> Decision:
    return Decision("needs_review",  # type: ignore[arg-type]  # until keywords has it
                    (EventSpec(brand_id, "RET", ("MESAJ",), "BIREYSEL"),),
                    text.lower(), "Looks like an opt-out but is not a command: a person "
                    "decides (test double).", number)


def patch_near_misses(monkeypatch: pytest.MonkeyPatch, texts: Mapping[str, str]) -> None:
    """``texts``: near-miss text -> the brand whose RET a confirmation creates."""
    real = building.match

    def match(text: str, number: str, rules: RuleSet) -> Decision:
        if text in texts:
            return near_miss_decision(texts[text], number, text)
        return real(text, number, rules)

    monkeypatch.setattr(building, "match", match)


async def add_review(pool: asyncpg.Pool, *, brand: str = "acme",
                     sender: str = "+905321234567", text: str = NEAR_MISS,
                     received_at: datetime, deadline_at: datetime | None = None,
                     to: str = "4609") -> int:
    """One near miss as the pipeline stores it: message (needs_review) and review event."""
    deadline = deadline_at or calendar.deadline_for(received_at)
    message_id = await pool.fetchval(
        """INSERT INTO mo_message (link, received_at, completed_at, sender, source_addr,
                                   destination_addr, text, normalized, outcome, reason)
           VALUES ('l1', $1, $1, $2, $3, $4, $5, lower($5), 'needs_review', 'test')
           RETURNING id""", received_at, sender, sender.lstrip("+"), to, text)
    return int(await pool.fetchval(
        """INSERT INTO consent_event (message_id, brand_id, iys_code, brand_code, recipient,
               recipient_type, type, status, received_at, consent_date, deadline_at, state)
           SELECT $1, b.id, b.iys_code, b.brand_code, $2, 'BIREYSEL', 'MESAJ', 'RET', $3, $3,
                  $4, 'review'
             FROM brand b WHERE b.id = $5
           RETURNING id""", message_id, sender, received_at, deadline, brand))
