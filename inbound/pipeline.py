"""From a batch of received PDUs to stored messages and consent events, in one transaction.

The SMPP session awaits :meth:`Pipeline.accept` and acknowledges the batch only when it
returns, so everything a PDU leads to is committed first: the raw PDU (``sms_in``), its
concatenation part (``sms_part``), the logical message with its keyword outcome
(``mo_message``) and the consent events (``consent_event``, the İYS outbox). Once a batch
with events has committed, ``on_events`` tells the pushers (iys_push.pusher.OutboxSignal).

Work per batch is shaped for few round trips: decoding and keyword matching happen in
Python first; then one statement looks up earlier copies of its PDUs, allocates the ids
and inserts every row of every table from column arrays (it is its own transaction; when it
finds a copy it writes nothing, and the batch is built again and stored by a second, with
:mod:`inbound.redelivery` telling redeliveries from repeats). Batches of one link may be
stored concurrently; one that depends on an earlier batch still in flight (same digest,
concatenated parts) waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

from inbound import metrics, pgtext, replies_limit, store
from inbound.intake import RateMeter
from inbound.redelivery import Arrival, Copies, Refused
from iys_push import calendar
from keywords import Decision, RuleSet, match, render_reply
from smpp_bind import pdu
from smpp_bind.addresses import mask_msisdn, normalise_destination, normalise_sender
from smpp_bind.message import Message, decode_message, decode_text
from smpp_bind.session import Received

if TYPE_CHECKING:
    from inbound.pgpipe import PipelinedConnection

log = structlog.get_logger(__name__)

SOURCE_SMS = "HS_MESAJ"  # İYS source for consent given by SMS to the provider's short number
# The state a decision's events are stored in: a command goes to İYS (the pusher claims
# 'pending'); a near miss ("iptal etmek istiyorum") waits for a person in the review queue
# (inbound/reviews.py) as the RETs a confirmation would create.
EVENT_STATES = {"consent": "pending", "needs_review": "review"}


def pdu_digest(raw: bytes) -> bytes:
    """SHA-256 of the PDU with its sequence number zeroed: a redelivery has a new sequence."""
    return hashlib.sha256(raw[:12] + b"\x00\x00\x00\x00" + raw[16:]).digest()


@dataclass
class _Row:
    """One PDU on its way into the database."""

    item: Received
    digest: bytes
    message: Message | None = None
    sender: str | None = None
    destination: str | None = None
    kind: str = "malformed"
    redelivery_of: int | None = None
    sms_in_id: int = 0
    message_id: int | None = None


def _placeholders(count: int) -> range:
    """The new sms_in ids of a batch written by one statement: -1, -2, … (see insert_mo_batch)."""
    return range(-1, -count - 1, -1)


def _is_part(row: _Row) -> bool:
    return row.message is not None and row.kind == "mo" and row.message.concat is not None


@dataclass
class _InFlight:
    digests: frozenset[bytes]
    done: asyncio.Future[None]


_NO_ORIGINALS: Mapping[str, list[Any]] = {name: [] for name in store.FOUND_COLUMNS}


@dataclass
class _Batch:
    link: str
    sms_in: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    replies: list[replies_limit.Reply] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)  # brand, status of events
    redeliveries: int = 0


def _row_literals(out: _Batch) -> list[str]:
    """The batch statements' sms_in, mo_message and consent_event rows (migrations/0009)."""
    return [pgtext.record_array(out.sms_in), pgtext.record_array(out.messages),
            pgtext.record_array(out.events)]


class Pipeline:
    """The SMPP sessions' sink. ``rules`` is replaced whole when the configuration changes."""

    def __init__(self, pool: asyncpg.Pool, batch_conn: PipelinedConnection, rules: RuleSet, *,
                 gsm_as_latin1: dict[str, bool] | None = None,
                 redelivery_window: dict[str, float] | None = None,
                 smsc_response_window: dict[str, float] | None = None,
                 reply_links: frozenset[str] = frozenset(), reply_interval: float = 3600.0,
                 replies_per_hour: int = 4,
                 on_replies: Callable[[], None] | None = None,
                 on_events: Callable[[], None] | None = None,
                 intake: RateMeter | None = None) -> None:
        self.pool = pool
        self.batch_conn = batch_conn          # plain batches, pipelined on one connection
        self.rules = rules
        self.gsm_as_latin1 = gsm_as_latin1 or {}
        self.redelivery_window = redelivery_window or {}          # per link, seconds
        self.smsc_response_window = smsc_response_window or {}    # per link, seconds
        self.reply_links = reply_links          # links able to send (transceiver, replies on)
        self.reply_interval = reply_interval    # a repeated confirmation waits this long
        self.replies_per_hour = replies_per_hour  # to one recipient, whatever they confirm
        self.on_replies = on_replies
        self.on_events = on_events              # after the commit of a batch with events
        self.intake = intake or RateMeter()     # PDUs stored a second (the pusher yields)
        self._inflight: dict[str, list[_InFlight]] = {}  # per link, in arrival order
        self._refused = Refused()  # PDUs answered with an error: the SMSC sends them again
        self._decisions: dict[tuple[str, str], Decision] = {}
        self._decisions_for: RuleSet | None = None

    async def accept(self, link: str, batch: list[Received]) -> None:
        rows = [self._decode(link, item) for item in batch]
        # registered before the first await: a session may run the next batch's accept while
        # this one commits, and a later batch must see this one's rows when it depends on them
        async with self._after_dependencies(link, rows):
            try:
                out = await self._store(link, rows)
            except Exception:
                # answered with an error, so sent again, even when only the commit's result
                # was lost (inbound.redelivery.Refused)
                self._refused.remember(link, (r.digest for r in rows))
                raise
        self.intake.add(len(rows))
        # counted only once committed, so a failed batch is not counted twice
        # (per label set, not per message: labels() costs more than the increment)
        for (number, outcome), n in Counter(out.outcomes).items():
            metrics.MO_OUTCOMES.labels(number, outcome).inc(n)
        for (brand_id, status), n in Counter(out.created).items():
            metrics.EVENTS_CREATED.labels(brand_id, status).inc(n)
        if out.redeliveries:
            metrics.REDELIVERIES.labels(link).inc(out.redeliveries)
        # one line per batch, not per message: at thousands of MO/s a line each costs more
        # than the decoding (per-message lines stay available at debug level)
        log.info("batch stored", link=link, pdus=len(rows), messages=len(out.messages),
                 events=len(out.events), replies=len(out.replies))
        if out.replies and self.on_replies is not None:
            self.on_replies()
        if out.events and self.on_events is not None:
            self.on_events()

    @contextlib.asynccontextmanager
    async def _after_dependencies(self, link: str, rows: list[_Row]) -> AsyncIterator[None]:
        """Wait for the earlier, still uncommitted batches of ``link`` this one depends on.

        Redelivery detection reads committed rows, and so does the assembly of concatenated
        parts. A batch therefore waits for every earlier batch in flight that holds one of
        its digests, and a batch with concatenated parts (or on a link that sends replies)
        waits for all earlier ones. Other batches commit concurrently (pipelined group
        commit).
        """
        digests = frozenset(r.digest for r in rows)
        has_parts = any(r.message is not None and r.message.concat for r in rows)
        # the one-reply-per-interval rule reads committed replies too: on a link that
        # replies, batches are stored one after the other
        wait_all = has_parts or link in self.reply_links
        mine = _InFlight(digests, asyncio.get_running_loop().create_future())
        inflight = self._inflight.setdefault(link, [])
        earlier = [f.done for f in inflight
                   if wait_all or not digests.isdisjoint(f.digests)]
        inflight.append(mine)
        try:
            if earlier:
                await asyncio.wait(earlier)
            yield
        finally:
            inflight.remove(mine)
            mine.done.set_result(None)

    async def _store(self, link: str, rows: list[_Row]) -> _Batch:
        """One round trip for a plain batch: one INSERT statement, its own transaction, which
        also allocates the ids (the rows refer to each other by negative placeholders) and
        writes nothing if it finds an earlier copy of one of the PDUs (rare); then the
        batch is built again knowing them and stored (a second statement, rare). Concatenated
        parts and replies need real ids in Python and a transaction around more statements.

        Ids are allocated inside the writing transaction on purpose: ``nextval`` WAL-logs
        every 32 values and then gives its transaction an xid, so a separate allocating
        statement would end in a WAL flush of its own (a second fsync for most batches).
        """
        since = datetime.now(UTC) - timedelta(seconds=self.redelivery_window.get(link, 900.0))
        plain = link not in self.reply_links and not any(_is_part(r) for r in rows)
        if plain:
            return await self._store_plain(link, rows, since)
        async with self.pool.acquire() as conn:
            out = _Batch(link)
            async with conn.transaction():
                candidates = sum(1 for r in rows
                                 if r.kind in ("mo", "malformed") and not _is_part(r))
                found = await conn.fetchrow(store.SQL.prepare_mo_batch, link,
                                            [r.digest for r in rows], since, len(rows),
                                            candidates)
                parts = self._build(rows, found, found["sms_in_ids"],
                                    iter(found["message_ids"]), out)
                # sms_in first: assembling parts updates the rows of this batch's parts
                await conn.fetchrow(store.SQL.insert_mo_batch, link, out.sms_in, [], [])
                for row in parts:
                    await self._store_part(conn, link, row, out)
                await conn.fetchrow(store.SQL.insert_mo_batch, link, [], out.messages, out.events)
                if out.replies:
                    await self._store_replies(conn, out)
        return out

    async def _store_plain(self, link: str, rows: list[_Row], since: datetime) -> _Batch:
        """A plain batch on the pipelined connection (``inbound.pgpipe``: one connection,
        several batches in flight, each statement its own transaction). The parameters are
        the link, then the sms_in, mo_message and consent_event rows, each array of its row
        type (migrations/0009) written as a text literal (``inbound.pgtext``)."""
        out = self._plain_batch(link, rows, _NO_ORIGINALS)
        found = await self.batch_conn.fetchrow(
            store.SQL.insert_new_mo_batch, [link, *_row_literals(out), pgtext.timestamp(since)])
        # insert_new_mo_batch's columns: sms_in, messages, events, brands_exist, then the
        # earlier copies it found (store.FOUND_COLUMNS)
        copies = dict(zip(store.FOUND_COLUMNS, found[4:], strict=True))
        if copies["original_digests"]:  # nothing was written: again, knowing them
            out = self._plain_batch(link, rows, copies)
            await self.batch_conn.fetchrow(store.SQL.insert_mo_batch, [link, *_row_literals(out)])
        return out

    def _plain_batch(self, link: str, rows: list[_Row], found: Mapping[str, Any]) -> _Batch:
        """A batch without parts or replies, built with placeholder ids (see insert_mo_batch)."""
        out = _Batch(link)
        self._build(rows, found, _placeholders(len(rows)), itertools.count(-1, -1), out)
        return out

    def _build(self, rows: list[_Row], found: Mapping[str, Any], sms_in_ids: Iterable[int],
               message_ids: Iterator[int], out: _Batch) -> list[_Row]:
        """Redeliveries, messages, events and replies of the batch into ``out``; returns the
        concatenated parts still to be stored."""
        copies = Copies(found, self.smsc_response_window.get(out.link, 30.0),
                        self._refused.of(out.link))
        parts: list[_Row] = []
        for row, sms_in_id in zip(rows, sms_in_ids, strict=True):
            row.sms_in_id = sms_in_id
            row.message_id = None
            arrival = Arrival(row.item.session, row.item.received_at)
            row.redelivery_of = copies.redelivery_of(
                row.digest, arrival, lambda row=row: self._opt_out_keys(row), out.events)
            copies.saw(row.digest, sms_in_id, row.redelivery_of, arrival, len(out.events))
            if row.redelivery_of is not None:
                out.redeliveries += 1
                continue
            if _is_part(row):
                parts.append(row)
            elif row.kind in ("mo", "malformed"):
                row.message_id = next(message_ids)
                self._single_message(row, out)
        out.sms_in.extend(self._sms_in_record(row) for row in rows)
        return parts

    def _opt_out_keys(self, row: _Row) -> frozenset[tuple[str, str]]:
        """(recipient, brand) of each RET this PDU makes on its own (inbound.redelivery)."""
        if row.message is None or row.kind != "mo" or _is_part(row) or row.sender is None:
            return frozenset()
        decision, outcome = self._decide(row, row.message.text)
        if outcome != "consent":
            return frozenset()
        return frozenset((row.sender, spec.brand_id) for spec in decision.events
                         if spec.status == "RET")

    # -- decoding ----------------------------------------------------------------------
    def _decode(self, link: str, item: Received) -> _Row:
        row = _Row(item, pdu_digest(item.raw))
        d = item.deliver
        if d is None:
            return row
        row.message = decode_message(d, gsm_as_latin1=self.gsm_as_latin1.get(link, False))
        row.kind = row.message.kind
        row.sender = normalise_sender(d.source_addr, d.source_addr_ton, d.source_addr_npi)
        row.destination = normalise_destination(d.destination_addr)
        return row

    def _sms_in_record(self, row: _Row) -> tuple[Any, ...]:
        item, d, m = row.item, row.item.deliver, row.message
        command = {pdu.DELIVER_SM: "deliver_sm", pdu.DATA_SM: "data_sm"}.get(
            item.command_id, "malformed") if d is not None else "malformed"
        fields = d.fields_json() if d is not None else json.dumps({"error": item.error})
        return (
            row.sms_in_id, item.received_at, command, item.sequence, item.raw, row.digest,
            fields, d.source_addr if d else None, row.sender, row.destination, row.kind,
            d.data_coding if d else None, m.encoding if m else None, m.text if m else None,
            row.redelivery_of, row.message_id, row.item.session,
        )

    # -- outcomes ----------------------------------------------------------------------
    def _single_message(self, row: _Row, out: _Batch) -> None:
        m = row.message
        if m is None:
            decision = Decision.not_text(f"malformed PDU: {row.item.error}")
            outcome = "malformed"
            text = None
        else:
            text = m.text
            decision, outcome = self._decide(row, text)
        self._record_message(row, out, text, decision, outcome, row.item.received_at,
                             row.item.received_at)

    def _decide(self, row: _Row, text: str | None) -> tuple[Decision, str]:
        if text is None:
            decision = Decision.not_text("the message is binary or could not be decoded")
            return decision, decision.outcome
        decision = self._match(text, row.destination or "")
        if decision.outcome in EVENT_STATES and row.sender is None:
            return decision, "invalid_sender"
        return decision, decision.outcome

    def _match(self, text: str, destination: str) -> Decision:
        """``keywords.match``, remembered per rules object: a campaign's thousands of
        ``RET ACME`` are one decision (Decision is frozen, match is pure)."""
        if self._decisions_for is not self.rules:
            self._decisions = {}
            self._decisions_for = self.rules
        key = (text, destination)
        decision = self._decisions.get(key)
        if decision is None:
            if len(self._decisions) >= 10_000:
                self._decisions.clear()
            decision = self._decisions[key] = match(text, destination, self.rules)
        return decision

    def _record_message(self, row: _Row, out: _Batch, text: str | None, decision: Decision,
                        outcome: str, received_at: datetime, completed_at: datetime) -> None:
        d = row.item.deliver
        reason = decision.reason
        if outcome == "invalid_sender":
            reason = "the sender is not a valid mobile number; nothing is sent to İYS"
        out.messages.append((
            row.message_id, received_at, completed_at, row.sender,
            d.source_addr if d else None, row.destination, text, decision.normalized, outcome,
            reason,
        ))
        out.outcomes.append((self._number_label(row.destination), outcome))
        log.debug("mo message", link=out.link, sender=mask_msisdn(row.sender or ""),
                 number=row.destination, outcome=outcome)
        if outcome in EVENT_STATES and row.sender is not None:
            out.events.extend(self._events(row, decision, received_at, out,
                                           EVENT_STATES[outcome]))
        if row.sender is not None and out.link in self.reply_links and row.destination:
            self._reply(row, out, decision, outcome)

    def _reply(self, row: _Row, out: _Batch, decision: Decision, outcome: str) -> None:
        first = decision.events[0] if decision.events else None
        text = render_reply(self.rules, first.brand_id if first else None, outcome,
                            first.status if first else None, number=row.destination)
        if text and row.message_id is not None and row.sender and row.destination:
            kind = replies_limit.kind_of(first.brand_id if first else None, outcome,
                                         first.status if first else None)
            out.replies.append(replies_limit.Reply(row.message_id, row.sender, row.destination,
                                                   text, kind))

    async def _store_replies(self, conn: asyncpg.Connection, out: _Batch) -> None:
        """Write the replies worth sending (``inbound.replies_limit``): a change of status is
        always confirmed, a repeat not within ``reply_interval``, and nobody gets more than
        ``replies_per_hour`` (no auto-responder loops)."""
        now = datetime.now(UTC)
        interval = timedelta(seconds=self.reply_interval)
        since = now - max(interval, replies_limit.LOOP_WINDOW)
        recent = [replies_limit.Sent(r["recipient"], r["source_addr"], r["kind"], r["created_at"])
                  for r in await conn.fetch(store.SQL.recent_replies,
                                            list({r.recipient for r in out.replies}), since)]
        chosen = replies_limit.choose(out.replies, recent, now=now, interval=interval,
                                      per_hour=self.replies_per_hour)
        if chosen:
            await conn.executemany(store.SQL.insert_reply, [
                (r.message_id, out.link, r.recipient, r.number, r.text, r.kind) for r in chosen])

    def _events(self, row: _Row, decision: Decision, received_at: datetime, out: _Batch,
                state: str) -> Iterable[tuple[Any, ...]]:
        """The decision's consent_event rows (mo_batch_event, migrations/0009 and 0012). A
        review item gets the deadline a RET received now would have: confirmed, it is that
        RET, with this receipt time as its consent date."""
        deadline = calendar.deadline_for(received_at)
        for spec in decision.events:
            brand = self.rules.brand(spec.brand_id)
            for iys_type in spec.types:
                if state == "pending":  # review items are counted by the review gauges
                    out.created.append((spec.brand_id, spec.status))
                yield (
                    row.message_id, spec.brand_id, brand.iys_code, brand.brand_code, row.sender,
                    spec.recipient_type, iys_type, spec.status, SOURCE_SMS, received_at,
                    deadline, state,
                )

    def _number_label(self, destination: str | None) -> str:
        # bounded label: configured numbers by name, everything else as "other"
        if destination and self.rules.number_for(destination) is not None:
            return destination
        return "other"

    # -- concatenation -----------------------------------------------------------------
    async def _store_part(self, conn: asyncpg.Connection, link: str, row: _Row,
                          out: _Batch) -> None:
        m, d = row.message, row.item.deliver
        assert m is not None and m.concat is not None and d is not None
        key = ":".join((m.concat.scheme, d.source_addr, row.destination or "",
                        str(m.concat.reference), str(m.concat.total)))
        await conn.execute(
            store.SQL.insert_part, row.sms_in_id, link, key, m.concat.sequence, m.concat.total,
            m.payload, m.data_coding, m.locking_shift, m.single_shift, row.item.received_at,
        )
        parts = await conn.fetch(store.SQL.pending_parts, link, key)
        if len({p["part_no"] for p in parts}) < m.concat.total:
            return
        await self._assemble(conn, link, key, row, parts, out, complete=True)

    async def _assemble(self, conn: asyncpg.Connection, link: str, key: str, row: _Row,
                        parts: list[asyncpg.Record], out: _Batch, *, complete: bool) -> None:
        message_id = (await conn.fetchval(store.SQL.allocate_message_ids, 1))
        first = parts[0]
        payload = b"".join(p["payload"] for p in parts)
        text = decode_text(
            payload, first["data_coding"], locking_shift=first["locking_shift"],
            single_shift=first["single_shift"],
            gsm_as_latin1=self.gsm_as_latin1.get(link, False),
        )
        received_at = min(p["received_at"] for p in parts)
        completed_at = max(p["received_at"] for p in parts)
        await conn.execute(store.SQL.claim_parts, link, key, message_id)
        row.message_id = message_id
        if complete:
            decision, outcome = self._decide(row, text)
        else:
            have = ", ".join(str(p["part_no"]) for p in parts)
            decision = Decision.not_text(
                f"only parts {have} of {first['total']} arrived before the timeout")
            outcome = "incomplete"
            metrics.INCOMPLETE.labels(link).inc()
        self._record_message(row, out, text, decision, outcome, received_at, completed_at)

    async def resolve_incomplete(self, older_than: float) -> int:
        """Turn parts that waited longer than ``older_than`` seconds into ``incomplete``."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        resolved = 0
        async with self.pool.acquire() as conn:
            for stale in await conn.fetch(store.SQL.stale_part_keys, cutoff):
                out = _Batch(stale["link"])
                async with conn.transaction():
                    parts = await conn.fetch(store.SQL.pending_parts, stale["link"],
                                             stale["concat_key"])
                    if not parts:
                        continue
                    first_in = await conn.fetchrow(store.SQL.sms_in_pdu,
                                                   parts[0]["sms_in_id"])
                    deliver = pdu.parse_deliver_sm(first_in["pdu"])
                    item = Received(pdu.DELIVER_SM, deliver.sequence, first_in["pdu"],
                                    parts[0]["received_at"], deliver)
                    row = self._decode(stale["link"], item)
                    await self._assemble(conn, stale["link"], stale["concat_key"], row, parts,
                                         out, complete=False)
                    await conn.fetchrow(store.SQL.insert_mo_batch, stale["link"], [],
                                        out.messages, [])
                resolved += 1
        return resolved
