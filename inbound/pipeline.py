"""From a batch of received PDUs to stored messages and consent events, in one transaction.

The SMPP session awaits :meth:`Pipeline.accept` and acknowledges the batch only when it
returns, so everything a PDU leads to is committed first: the raw PDU (``sms_in``), its
concatenation part (``sms_part``), the logical message with its keyword outcome
(``mo_message``) and the consent events (``consent_event``, the İYS outbox). Once a batch
with events has committed, ``on_events`` tells the pushers (iys_push.pusher.OutboxSignal).

Decoding and keyword matching happen in Python first (:mod:`inbound.building`); the rows
then go to the database through one seam, :class:`inbound.writer.BatchWriter`: a plain
batch is one statement (its own transaction, which writes nothing if it finds an earlier
copy of one of its PDUs; the batch is then built again knowing them, with
:mod:`inbound.redelivery` telling redeliveries from repeats, and written by a second); a
batch with concatenated parts (:mod:`inbound.concat`) or replies is two: one reads what it
depends on (earlier copies, the parts waiting for its keys, recent replies) and allocates its
ids, the other writes all its rows (its own transaction). Batches of one link may be stored
concurrently; one that depends on an earlier batch still in flight (same digest,
concatenated parts, replies) waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from inbound import concat, metrics, replies_limit
from inbound.building import Batch, BatchBuilder, PduRow, placeholders
from inbound.intake import RateMeter
from inbound.writer import BatchWriter, EarlierCopy
from keywords import RuleSet
from smpp_bind import pdu
from smpp_bind.session import Received

log = structlog.get_logger(__name__)


@dataclass
class _InFlight:
    digests: frozenset[bytes]   # its PDUs' digests, and its senders where they matter
    done: asyncio.Future[None]


def _sender_keys(row: PduRow) -> tuple[bytes, bytes]:
    """The sender as written (in a part's key) and normalised (a reply's recipient; two
    spellings of one number meet here). The prefixes keep them apart from the digests."""
    d = row.item.deliver
    return (b"source:" + (d.source_addr if d else "").encode(),
            b"sender:" + (row.sender or "").encode())


class Pipeline:
    """The SMPP sessions' sink. ``rules`` is replaced whole when the configuration changes."""

    def __init__(self, writer: BatchWriter, rules: RuleSet, *,
                 gsm_as_latin1: dict[str, bool] | None = None,
                 redelivery_window: dict[str, float] | None = None,
                 smsc_response_window: dict[str, float] | None = None,
                 reply_links: frozenset[str] = frozenset(), reply_interval: float = 3600.0,
                 replies_per_hour: int = 4,
                 on_replies: Callable[[], None] | None = None,
                 on_events: Callable[[], None] | None = None,
                 intake: RateMeter | None = None) -> None:
        self.writer = writer
        self.builder = BatchBuilder(rules, gsm_as_latin1=gsm_as_latin1 or {},
                                    smsc_response_window=smsc_response_window or {},
                                    reply_links=reply_links)
        self.redelivery_window = redelivery_window or {}          # per link, seconds
        self.reply_links = reply_links          # links able to send (transceiver, replies on)
        self.reply_interval = reply_interval    # a repeated confirmation waits this long
        self.replies_per_hour = replies_per_hour  # to one recipient, whatever they confirm
        self.on_replies = on_replies
        self.on_events = on_events              # after the commit of a batch with events
        self.intake = intake or RateMeter()     # PDUs stored a second (the pusher yields)
        self._inflight: dict[str, list[_InFlight]] = {}  # per link, in arrival order

    @property
    def rules(self) -> RuleSet:
        return self.builder.rules

    @rules.setter
    def rules(self, rules: RuleSet) -> None:
        self.builder.rules = rules

    async def accept(self, link: str, batch: list[Received]) -> None:
        rows = [self.builder.decode(link, item) for item in batch]
        # registered before the first await: a session may run the next batch's accept while
        # this one commits, and a later batch must see this one's rows when it depends on them
        async with self._after_dependencies(link, rows):
            try:
                out = await self._store(link, rows)
            except Exception:
                # answered with an error, so sent again, even when only the commit's result
                # was lost (inbound.redelivery.Refused)
                self.builder.refused.remember(link, (r.digest for r in rows))
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
    async def _after_dependencies(self, link: str, rows: list[PduRow]) -> AsyncIterator[None]:
        """Wait for the earlier, still uncommitted batches of ``link`` this one depends on.

        Redelivery detection reads committed rows, and so do the assembly of concatenated
        parts and the one-reply-per-interval rule. A batch therefore waits for every earlier
        batch in flight that holds one of its digests or, where it has concatenated parts
        or is on a link that sends replies, one of its senders: a part's key and a reply's
        recipient both contain the sender, so batches of other senders cannot change what
        this one reads. The other batches commit concurrently (group commit).
        """
        keys = {r.digest for r in rows}
        has_parts = any(r.message is not None and r.message.concat for r in rows)
        if has_parts or link in self.reply_links:
            for row in rows:
                keys.update(_sender_keys(row))
        mine = _InFlight(frozenset(keys), asyncio.get_running_loop().create_future())
        inflight = self._inflight.setdefault(link, [])
        earlier = [f.done for f in inflight if not mine.digests.isdisjoint(f.digests)]
        inflight.append(mine)
        try:
            if earlier:
                await asyncio.wait(earlier)
            yield
        finally:
            inflight.remove(mine)
            mine.done.set_result(None)

    async def _store(self, link: str, rows: list[PduRow]) -> Batch:
        """A plain batch: one statement, which also allocates the ids (the rows refer to each
        other by negative placeholders) and writes nothing if it finds an earlier copy of
        one of the PDUs (rare); then the batch is built again knowing them and written by a
        second. A batch with concatenated parts or replies: one statement reads what it
        depends on (copies, waiting parts, recent replies) with its ids, a second writes it."""
        since = datetime.now(UTC) - timedelta(seconds=self.redelivery_window.get(link, 900.0))
        if link not in self.reply_links and not any(r.is_part for r in rows):
            out = self._plain_batch(link, rows, [])
            copies = await self.writer.insert_new(out, since)
            if copies:  # nothing was written: again, knowing them
                out = self._plain_batch(link, rows, copies)
                await self.writer.write(out)
            return out
        out = Batch(link)
        now = datetime.now(UTC)
        recipients = list({r.sender for r in rows if r.sender}) if link in self.reply_links else []
        part_rows = [r for r in rows if r.is_part]
        singles = sum(1 for r in rows if r.kind in ("mo", "malformed") and not r.is_part)
        # a message id for each single message, and for each part: the most messages the
        # parts can complete (the ids not used are gaps in the sequence, nothing more)
        prepared = await self.writer.prepare(
            link, [r.digest for r in rows], since, len(rows), singles + len(part_rows),
            recipients, now - self._reply_memory(),
            sorted({concat.concat_key(r) for r in part_rows}))
        message_ids = iter(prepared.message_ids)
        parts = self.builder.build(rows, prepared.copies, prepared.sms_in_ids, message_ids, out)
        if parts:
            concat.place_parts(self.builder, link, parts, prepared.waiting_parts, message_ids,
                               out)
        out.sms_in.extend(self.builder.sms_in_rows(rows))
        if out.replies:
            out.sms_out.extend(self._chosen_replies(out, prepared.recent_replies, now))
        await self.writer.write(out)
        return out

    def _plain_batch(self, link: str, rows: list[PduRow],
                     copies: Sequence[EarlierCopy]) -> Batch:
        """A batch without parts or replies, built with placeholder ids (write_mo_batch)."""
        out = Batch(link)
        self.builder.build(rows, copies, placeholders(len(rows)), itertools.count(-1, -1), out)
        out.sms_in.extend(self.builder.sms_in_rows(rows))
        return out

    def _reply_memory(self) -> timedelta:
        """How far back the reply rules look."""
        return max(timedelta(seconds=self.reply_interval), replies_limit.LOOP_WINDOW)

    def _chosen_replies(self, out: Batch, recent: list[replies_limit.Sent],
                        now: datetime) -> list[replies_limit.Reply]:
        """The replies worth sending (``inbound.replies_limit``): a change of status is
        always confirmed, a repeat not within ``reply_interval``, and nobody gets more than
        ``replies_per_hour`` (no auto-responder loops). ``recent``: the replies already
        written to the batch's senders, read with the batch's ids."""
        return replies_limit.choose(out.replies, recent, now=now,
                                    interval=timedelta(seconds=self.reply_interval),
                                    per_hour=self.replies_per_hour)

    async def resolve_incomplete(self, older_than: float) -> int:
        """Turn parts that waited longer than ``older_than`` seconds into ``incomplete``
        messages. A batch completing one of them at the same time (in this process, or in
        another that owns the link) is safe: whichever writes second finds the parts taken
        and fails (write_mo_batch), its PDUs are delivered again, or the sweep retries."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        resolved = 0
        for link, key in await self.writer.stale_part_keys(cutoff):
            prepared = await self.writer.prepare(link, [], cutoff, 0, 1, [], cutoff, [key])
            parts = prepared.waiting_parts[key]
            if not parts:
                continue
            raw = await self.writer.first_pdu(parts[0].sms_in_id)
            deliver = pdu.parse_deliver_sm(raw)
            item = Received(pdu.DELIVER_SM, deliver.sequence, raw, parts[0].received_at,
                            deliver)
            out = Batch(link)
            concat.record_incomplete(self.builder, link, self.builder.decode(link, item),
                                     parts, prepared.message_ids[0], out)
            await self.writer.write(out)
            resolved += 1
        return resolved
