"""smpplib's blocking ``Client`` as an ESME: the two smpplib rows of the benchmark.

``ackonly``: acknowledge every deliver_sm at once (smpplib answers when the handler returns),
store nothing. ``naive``: the handler first INSERTs the message as one row in its own
transaction (autocommit) in PostgreSQL, so each deliver_sm_resp waits for its own commit.
TCP_NODELAY is set on the socket in both modes (DESIGN.md: without it some acks wait ~40 ms).

Usage: ``python -m bench.smpplib_client ackonly|naive PORT [DSN]`` with ``SMPP_PASSWORD`` in
the environment. Prints ``bound`` once bound; runs until the SMSC closes the connection.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import smpplib.client
import smpplib.consts
import smpplib.exceptions

NAIVE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_naive_mo (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    source_addr text NOT NULL,
    destination_addr text NOT NULL,
    short_message bytea NOT NULL
)"""
NAIVE_INSERT = ("INSERT INTO bench_naive_mo (source_addr, destination_addr, short_message) "
                "VALUES ($1, $2, $3)")


def _text(value: object) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def main(argv: list[str]) -> int:
    mode, port = argv[0], int(argv[1])
    client = smpplib.client.Client("127.0.0.1", port, allow_unknown_opt_params=True)
    if mode == "naive":
        import asyncpg

        loop = asyncio.new_event_loop()
        conn = loop.run_until_complete(asyncpg.connect(argv[2]))
        loop.run_until_complete(conn.execute(NAIVE_TABLE))

        def handler(pdu: object, **_: object) -> int:
            if getattr(pdu, "command", "") == "deliver_sm":
                loop.run_until_complete(conn.execute(
                    NAIVE_INSERT, _text(pdu.source_addr), _text(pdu.destination_addr),
                    bytes(pdu.short_message or b"")))
            return smpplib.consts.SMPP_ESME_ROK
    elif mode == "ackonly":
        def handler(pdu: object, **_: object) -> int:
            return smpplib.consts.SMPP_ESME_ROK
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    client.set_message_received_handler(handler)
    client.connect()
    client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.bind_receiver(system_id="iys", password=os.environ.get("SMPP_PASSWORD", ""))
    print("bound", flush=True)
    try:
        client.listen()
    except (smpplib.exceptions.ConnectionError, OSError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
