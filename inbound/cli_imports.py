"""``iys-inbound consents import --brand acme FILE`` (issue #31): a file of consents (CSV or
XLSX) checked row by row and stored for the pusher, with a progress bar on a terminal.

Prints the import's counts as JSON when stored (the pusher of the running service sends the
rows); ``--wait`` follows it until every valid row is settled in İYS. ``--rows FILE`` writes
the per-row results (the file back with a result column) at the end. Exit 1 when the file
cannot be read at all (nothing stored).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from pathlib import Path
from typing import Any

EXIT_REFUSED = 1


def add_arguments(i: argparse.ArgumentParser) -> None:
    i.add_argument("--brand", required=True)
    i.add_argument("file", type=Path, help="CSV (UTF-8, ; or ,) or XLSX, headers Turkish or "
                   "English: alıcı/recipient, tür/type, durum/status, kaynak/source, "
                   "alıcı tipi/recipient_type, izin tarihi/consent_date")
    i.add_argument("--state-only", action="store_true",
                   help="record the rows in the İYS mirror only (a brand's existing consents, "
                   "any date; origin seed): never pushed to İYS")
    i.add_argument("--wait", action="store_true",
                   help="follow the import until every valid row is settled in İYS")
    i.add_argument("--rows", type=Path, metavar="OUT.csv",
                   help="write each row's result here at the end")


class Progress:
    """Rows stored, then (with ``--wait``) rows settled in İYS, as ``tqdm`` bars on standard
    error; ``disable=None`` draws nothing when it is not a terminal (a log file, a pipe)."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bar = tqdm(desc="storing", unit=" rows", file=sys.stderr, disable=None,
                        mininterval=0.5)

    def rows(self, count: int) -> None:
        self.bar.update(count - self.bar.n)

    def pushing(self, valid: int) -> None:
        self.bar.close()
        self.bar = self._tqdm(desc="pushing", total=valid, unit=" rows", file=sys.stderr,
                              disable=None, mininterval=0.5)

    def settled(self, share: float) -> None:
        total = self.bar.total or 0
        self.bar.update(int(total * share) - self.bar.n)

    def done(self) -> None:
        self.bar.close()


def _kind(path: Path) -> str:
    from inbound.imports import read
    try:
        with path.open("rb") as stream:
            return read.kind_of(stream.read(4))
    except OSError as exc:
        raise SystemExit(f"iys-inbound: {path}: {exc.strerror}") from None


async def run(args: argparse.Namespace, pool: Any) -> None:
    from inbound.imports import read, results
    from inbound.imports.store import Uploader, create, store_file

    path: Path = args.file
    kind = _kind(path)
    who = Uploader("cli", "cli")
    bar = Progress()
    import_id = await create(pool, args.brand, who, path.name, kind,
                             state_only=args.state_only)
    try:
        await store_file(pool, import_id, args.brand, who, path, progress=bar.rows)
    except read.FileRefused as exc:
        bar.done()
        print(f"refused: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None
    bar.done()
    summary = await results.summary(pool, import_id, args.brand)
    if args.wait and summary is not None:
        bar.pushing(summary["counts"]["valid"])
    while args.wait and summary is not None and summary["state"] == "pushing":
        bar.settled(summary["progress"])
        await asyncio.sleep(1.0)  # a person watching a bar: polling once a second is plenty
        summary = await results.summary(pool, import_id, args.brand)
    if args.wait:
        bar.done()
    if args.rows is not None:
        with args.rows.open("w", newline="", encoding="utf-8-sig") as out:
            writer = csv.writer(out)
            async for line in results.rows_csv(pool, import_id):
                writer.writerow(line)
    print(json.dumps(summary, ensure_ascii=False, indent=1))
