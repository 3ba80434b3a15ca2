"""``iys-inbound links mint --brand … FILE`` and ``links revoke`` (issue #30): a campaign's
personal consent links from a CSV of recipients, with a progress bar.

The file is checked whole first (every bad line printed, nothing made, exit 1); then the
links are written with COPY, a committed chunk at a time, and ``recipient,url`` lines (the
recipient as written) go to ``--out`` or standard output as each chunk commits.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

EXIT_REFUSED = 1


def add_parser(sub: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("links", help="consent and opt-out links: mint a campaign's, revoke one",
                       description="Personal links for a brand's messages: one tap on the "
                       "page records the recipient's RET (or ONAY) and pushes it to İYS.")
    lsub = p.add_subparsers(dest="links_command", required=True, parser_class=parser_class)
    m = lsub.add_parser("mint", help="one link per recipient of a CSV; writes recipient,url")
    m.add_argument("--brand", required=True)
    m.add_argument("--action", choices=("RET", "ONAY", "choice"), default="RET",
                   help="RET (default); ONAY and choice only in messages the brand may "
                   "lawfully send")
    m.add_argument("--type", action="append", choices=("MESAJ", "ARAMA"),
                   help="repeatable; default MESAJ")
    m.add_argument("--expires-at", help="RFC 3339 with offset: 2026-06-30T23:59:59+03:00")
    m.add_argument("--out", help="the CSV of links (default: standard output)")
    m.add_argument("--no-progress", action="store_true", help="no progress bar")
    m.add_argument("file", help="CSV of recipients: one column, or a column named recipient "
                   "('-': standard input)")
    r = lsub.add_parser("revoke", help="revoke a link by its id: its page then says the link "
                        "is no longer valid")
    r.add_argument("--brand", required=True)
    r.add_argument("id", type=int)


def _read(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"iys-inbound: {name}: {exc}") from None


async def run(args: argparse.Namespace, base_url: str,
              pool_of: Callable[[], Awaitable[Any]]) -> None:
    from inbound import consent_links
    from inbound.api import inputs
    from inbound.api.problems import Problem
    from inbound.api.queries import SQL as API_SQL

    pool = await pool_of()
    try:
        # the operator sees every brand (no owner to restrict it to)
        if await pool.fetchval(API_SQL.brand_visible, args.brand, None) is None:
            raise SystemExit(f"iys-inbound: brand {args.brand!r} not found")
        if args.links_command == "revoke":
            if not await consent_links.revoke(pool, args.brand, args.id):
                raise SystemExit(f"iys-inbound: brand {args.brand!r} has no link {args.id}")
            print(f"revoked link {args.id}")
            return
        expires = None
        if args.expires_at:
            try:
                expires = inputs.date_time(args.expires_at, "--expires-at")
            except Problem as problem:
                raise SystemExit(f"iys-inbound: {problem.detail}") from None
        spec = consent_links.LinkSpec(args.brand, args.action, tuple(args.type or ["MESAJ"]),
                                      expires, "cli")
        try:
            rows = consent_links.parse_recipients(_read(args.file), 10_000_000)
        except consent_links.CsvRefused as refused:
            for line, reason in refused.errors:
                print(f"  line {line}: {reason}", file=sys.stderr)
            print(f"refused: {len(refused.errors)} bad lines; no link was made",
                  file=sys.stderr)
            raise SystemExit(EXIT_REFUSED) from None
        # a CLI run does one thing at a time: a blocking open is fine here
        out: TextIO = Path(args.out).open("w", encoding="utf-8", newline="") if args.out \
            else sys.stdout  # noqa: ASYNC230
        try:
            await _mint(pool, spec, rows, base_url, out, not args.no_progress)
        finally:
            if args.out:
                out.close()
    finally:
        await pool.close()


async def _mint(pool: Any, spec: Any, rows: list[tuple[str, str]], base_url: str,
                out: TextIO, progress: bool) -> None:
    from tqdm import tqdm

    from inbound import consent_links

    prefix = base_url.rstrip("/") + "/"
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("recipient", "url"))
    started = time.perf_counter()
    done = 0
    # disable=None: no bar when standard error is not a terminal (a log file, a pipe)
    with tqdm(total=len(rows), unit="links", file=sys.stderr, mininterval=0.5,
              disable=None if progress else True) as bar:
        async for codes in consent_links.mint_many(pool, spec, (n for _, n in rows)):
            writer.writerows((written, prefix + code) for (written, _), code
                             in zip(rows[done:done + len(codes)], codes, strict=True))
            done += len(codes)
            bar.update(len(codes))
    out.flush()
    seconds = time.perf_counter() - started
    print(f"{done:,} links minted in {seconds:.2f} s ({done / max(seconds, 1e-9):,.0f}/s)",
          file=sys.stderr)
