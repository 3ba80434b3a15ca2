"""Which confirmation replies are sent (inbound/replies_limit.py), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbound.replies_limit import Reply, Sent, choose, kind_of

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def reply(kind: str, recipient: str = "+905321234567", number: str = "4609") -> Reply:
    return Reply(1, recipient, number, "text", kind)


def sent(kind: str, minutes_ago: float, recipient: str = "+905321234567",
         number: str = "4609") -> Sent:
    return Sent(recipient, number, kind, NOW - timedelta(minutes=minutes_ago))


def kinds(chosen: list[Reply]) -> list[str]:
    return [r.kind for r in chosen]


def test_kind_names_the_brand_and_status_or_the_outcome() -> None:
    assert kind_of("acme", "consent", "RET") == "acme:RET"
    assert kind_of(None, "ambiguous", None) == "ambiguous:"


def test_a_ret_after_an_onay_confirmation_within_the_interval_is_sent() -> None:
    chosen = choose([reply("acme:RET")], [sent("acme:ONAY", 5)], now=NOW, interval=HOUR,
                    per_hour=4)
    assert kinds(chosen) == ["acme:RET"]


def test_a_repeat_within_the_interval_is_not_sent_after_it_is() -> None:
    repeat = [reply("acme:RET")]
    assert choose(repeat, [sent("acme:RET", 59)], now=NOW, interval=HOUR, per_hour=4) == []
    assert kinds(choose(repeat, [sent("acme:RET", 61)], now=NOW, interval=HOUR,
                        per_hour=4)) == ["acme:RET"]


def test_the_last_reply_of_the_subject_decides_not_any_earlier_one() -> None:
    history = [sent("acme:RET", 30), sent("acme:ONAY", 20)]
    assert kinds(choose([reply("acme:RET")], history, now=NOW, interval=HOUR,
                        per_hour=4)) == ["acme:RET"]


def test_other_numbers_and_recipients_do_not_count_as_repeats() -> None:
    history = [sent("acme:RET", 1, number="908505320000"),
               sent("acme:RET", 1, recipient="+905550000000")]
    assert kinds(choose([reply("acme:RET")], history, now=NOW, interval=HOUR,
                        per_hour=4)) == ["acme:RET"]


def test_the_hourly_cap_counts_every_number_and_kind() -> None:
    history = [sent("acme:RET", 50), sent("kuzey:ONAY", 40, number="3340"),
               sent("ambiguous:", 30)]
    chosen = choose([reply("acme:ONAY"), reply("kuzey:RET")], history, now=NOW, interval=HOUR,
                    per_hour=4)
    assert kinds(chosen) == ["acme:ONAY"]  # the fourth of the hour; the fifth waits


def test_replies_chosen_in_one_batch_count_for_the_next_in_it() -> None:
    chosen = choose([reply("acme:RET"), reply("acme:RET"), reply("acme:ONAY")], [], now=NOW,
                    interval=HOUR, per_hour=4)
    assert kinds(chosen) == ["acme:RET", "acme:ONAY"]
