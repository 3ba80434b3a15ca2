"""The mixed benchmark row (bench/mixed.py) and the SMPP section's ratio spreads."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import asyncpg

from bench import mixed
from bench.harness import MO_FIELDS, PEER_PASSWORD, BenchSmsc
from bench.ratios import MIXED, spread_lines
from keywords import RuleSet, match, render_reply


def test_the_cycle_is_the_issues_mix_of_twenty_messages() -> None:
    cycle = mixed.cycle()
    kinds = Counter("concat" if e.get("concat") else
                    "reply" if e["destination_addr"] == mixed.OWN else
                    "ucs2" if e["data_coding"] == 8 else "gsm7" for e in cycle)
    assert kinds == {"gsm7": 12, "ucs2": 5, "concat": 6, "reply": 1}   # 6 parts = 2 messages
    for i, entry in enumerate(cycle):       # parts come in order, together
        if entry.get("concat") and entry["concat"][1] == 1:
            assert [cycle[i + k]["concat"] for k in range(3)] == [[3, 1], [3, 2], [3, 3]]
    assert all(len(bytes.fromhex(e["text_hex"])) <= mixed.PART for e in cycle)


def test_every_message_of_the_mix_is_a_consent_and_only_the_own_number_replies(
    tmp_path: Path
) -> None:
    rules = RuleSet.from_toml(mixed.rules_file(tmp_path / "r.toml").read_text("utf-8"))
    texts = [(bytes.fromhex(e["text_hex"]).decode("utf-16-be" if e["data_coding"] == 8
                                                    else "ascii"), e["destination_addr"])
             for e in mixed.cycle() if not e.get("concat")]
    texts += [("".join(bytes.fromhex(p["text_hex"]).decode() for p in mixed._concat(t)),
               mixed.SHARED) for t in ("RET ACME", "RET KUZEY")]
    assert len({t for t, _ in texts}) >= 15            # not one text over and over
    for text, number in texts:
        decision = match(text, number, rules)
        assert decision.outcome == "consent", text
        event = decision.events[0]
        reply = render_reply(rules, event.brand_id, "consent", event.status, number=number)
        assert (reply is not None) == (number == mixed.OWN), text


def test_the_ratio_spread_lists_every_run_and_the_mixed_verdict() -> None:
    def run(client: str, rate: float) -> dict[str, object]:
        return {"client": client, "mode": "window", "window": 50, "rate": rate}

    rows = [run("iys-inbound", r) for r in (5000, 4000, 6000)]
    rows += [run(MIXED, r) for r in (2500, 3500, 2900)]
    lines = spread_lines(rows, [9000, 11000])
    assert "0.500 · 0.400 · 0.600" in lines[0] and "range 0.400–0.600×" in lines[0]
    assert "0.500 · 0.700 · 0.580" in lines[1] and "median 0.580×" in lines[1]
    assert lines[1].endswith("**not met**")


async def test_two_cycles_of_the_mix_through_the_service_store_what_the_mix_says(
    dsn: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    # the bench row's machinery end to end (no timing): peer.js's mix command, the
    # transceiver link, the rules with the shared number's replies off
    async with BenchSmsc(password=PEER_PASSWORD) as smsc:
        done: dict[str, object] = {}

        async def measure() -> None:
            await smsc.wait_bound(timeout=60)
            done.update(await smsc.load(48, 10, timeout=120, **MO_FIELDS))

        await mixed.run_row(smsc, dsn, tmp_path, "info", measure)
    assert done["answered"] == 48 and done["errors"] == 0
    counts = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM mo_message) AS messages,
                  (SELECT count(*) FROM mo_message WHERE outcome = 'consent') AS consents,
                  (SELECT count(*) FROM sms_in) AS pdus,
                  (SELECT count(*) FROM sms_in WHERE data_coding = 8) AS ucs2,
                  (SELECT count(*) FROM sms_out) AS replies""")
    assert dict(counts) == {"messages": 40, "consents": 40, "pdus": 48, "ucs2": 10,
                            "replies": 2}
