"""``iys-inbound check --brand … --type MESAJ numbers.csv > allowed.csv``: the pre-send check
(``inbound.presend``) from the command line, straight against the database.

The file (or ``-`` for standard input) is read chunk by chunk, never whole: the recipient is
the first CSV column; blank lines are skipped, and so is a first line without a digit or an
``@`` (a header). Standard output gets the allowed numbers, one E.164 number a line (with
``--verdicts`` every input as ``recipient,verdict,reason``); standard error a progress bar
and a summary with the mirror's ``as_of``. With ``--strict`` a stale mirror stops the check
before anything is printed (exit 4).
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import IO, Any

from iys_push.consent_rules import RECIPIENT_TYPES, TYPES

EXIT_STALE = 4


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    c = sub.add_parser("check", help="pre-send check: which numbers may the brand message now?",
                       description="Reads recipients (first CSV column), prints the allowed "
                       "ones: ONAY in the İYS mirror, no RET pending here, nothing waiting for "
                       "review. A summary and the mirror's as_of go to standard error.")
    c.add_argument("--brand", required=True)
    c.add_argument("--type", choices=TYPES, required=True)
    c.add_argument("--recipient-type", choices=RECIPIENT_TYPES, default="BIREYSEL")
    c.add_argument("--strict", action="store_true",
                   help="refuse (exit 4, nothing printed) when the mirror is stale")
    c.add_argument("--verdicts", action="store_true",
                   help="print every input as recipient,verdict,reason instead")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.add_argument("file", help="a CSV or text file of recipients, or - for standard input")


def first_fields(lines: list[str]) -> list[str]:
    """The first CSV column of each non-blank line, stripped."""
    out = []
    for line in lines:
        if '"' in line:
            row = next(csv.reader([line]), [""])
            field = row[0] if row else ""
        else:
            field = line.split(",", 1)[0]
        field = field.strip()
        if field:
            out.append(field)
    return out


def is_header(field: str) -> bool:
    return not any(ch.isdigit() for ch in field) and "@" not in field


def read_chunks(stream: IO[str], size: int, progress: Any) -> Iterator[list[str]]:
    first = True
    while True:
        lines = list(itertools.islice(stream, size))
        if not lines:
            return
        progress.update(sum(map(len, lines)))
        fields = first_fields(lines)
        if first and fields and is_header(fields[0]):
            fields = fields[1:]
        first = False
        if fields:
            yield fields


async def _aiter(chunks: Iterator[list[str]]) -> AsyncIterator[list[str]]:
    for chunk in chunks:
        yield chunk


class _NoProgress:
    def update(self, _: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(args: argparse.Namespace, source: IO[str]) -> Any:
    if args.no_progress:
        return _NoProgress()
    from tqdm import tqdm

    total = None
    if args.file != "-":
        total = os.path.getsize(args.file)
    # disable=None: no bar when standard error is not a terminal (a log file, a pipe)
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, file=sys.stderr,
                disable=None, desc="checking", mininterval=0.5)


def summary(counts: Counter[tuple[str, str]], seconds: float, args: argparse.Namespace,
            fresh: dict[str, Any]) -> str:
    total = sum(counts.values())
    by_verdict: Counter[str] = Counter()
    for (verdict, _), n in counts.items():
        by_verdict[verdict] += n
    parts = []
    for verdict in ("allowed", "blocked", "invalid"):
        reasons = ", ".join(f"{reason} {n:,}" for (v, reason), n in sorted(counts.items())
                            if v == verdict and reason)
        parts.append(f"{verdict} {by_verdict[verdict]:,}" + (f" ({reasons})" if reasons else ""))
    rate = total / seconds if seconds > 0 else 0.0
    state = "fresh" if fresh["verdict"] == "fresh" else (
        f"STALE (older than {fresh['max_age_seconds']:.0f} s)")
    return (f"checked {total:,} recipients for {args.brand} {args.type} {args.recipient_type} "
            f"in {seconds:.2f} s ({rate:,.0f}/s): " + "; ".join(parts) + "\n"
            f"mirror as of {fresh['as_of'] or 'never'}: {state}"
            + ("" if fresh["push_registered"] else " (no push registration: İYS-side changes "
               "of the last hour are not in it)"))


async def run(args: argparse.Namespace, pool_of: Callable[[], Awaitable[Any]],
              settings: Any) -> None:
    from inbound import presend

    started = time.monotonic()
    pool = await pool_of()
    try:
        async with pool.acquire() as conn, pool.acquire() as second:
            check = await presend.Check.open(conn, args.brand, args.type, args.recipient_type,
                                             settings)
            if check is None:
                raise SystemExit(f"iys-inbound: brand {args.brand!r} not found")
            fresh = check.freshness.to_json()
            if args.strict and not check.freshness.fresh:
                print(f"iys-inbound: the mirror is stale (as of {fresh['as_of'] or 'never'}, "
                      f"limit {fresh['max_age_seconds']:.0f} s): nothing checked (--strict)",
                      file=sys.stderr)
                raise SystemExit(EXIT_STALE)
            # read in this coroutine on purpose: reading is the CPU work that overlaps
            # with the database's lookups (presend.stream)
            source: IO[str] = (sys.stdin if args.file == "-" else open(  # noqa: ASYNC230
                args.file, encoding="utf-8-sig", errors="replace"))
            progress = _progress(args, source)
            counts: Counter[tuple[str, str]] = Counter()
            out = sys.stdout
            if args.verdicts:
                out.write("recipient,verdict,reason\n")
            try:
                chunks = read_chunks(source, presend.CHUNK, progress)
                async for verdicts in presend.stream([conn, second], check,
                                                     _aiter(chunks)):
                    counts.update((v[2], v[3]) for v in verdicts)
                    if args.verdicts:
                        buffer = io.StringIO()
                        csv.writer(buffer, lineterminator="\n").writerows(
                            (v[1] or v[0], v[2], v[3]) for v in verdicts)
                        out.write(buffer.getvalue())
                    else:
                        allowed = [v[1] for v in verdicts if v[2] == "allowed"]
                        if allowed:
                            out.write("\n".join(allowed) + "\n")  # type: ignore[arg-type]
            finally:
                progress.close()
                if source is not sys.stdin:
                    source.close()
            out.flush()
    finally:
        await pool.close()
    print(summary(counts, time.monotonic() - started, args, fresh), file=sys.stderr)
