"""The sandbox's memory: clock, accounts, tokens, consents per key, batches, fault knobs."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from iys_push.sandbox.rules import Consent, Movement


@dataclass
class Account:
    username: str
    password: str
    iys_code: int
    brand_codes: tuple[int, ...]


class Clock:
    """The sandbox's notion of "now": real time plus a settable offset, or frozen.

    Used for creationDate, H162, H467, token expiry, the token-hour limit, batch delays and
    the changes window. (The per-second H124 limiter uses real monotonic time instead: a
    frozen clock must not turn into one endless second.)
    """

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset = timedelta(seconds=offset_seconds)
        self.frozen: datetime | None = None

    def now(self) -> datetime:
        return self.frozen if self.frozen is not None else datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        """Move forward (or back, if negative), frozen or running."""
        if self.frozen is not None:
            self.frozen += timedelta(seconds=seconds)
        else:
            self.offset += timedelta(seconds=seconds)

    def set(self, moment: datetime | None) -> None:
        """Freeze at ``moment``; ``None`` lets the clock run again (with its offset)."""
        self.frozen = moment

    def freeze(self) -> None:
        self.frozen = self.now()

    def set_offset(self, seconds: float) -> None:
        """Run at real time + ``seconds``."""
        self.frozen, self.offset = None, timedelta(seconds=seconds)

    def jump_to(self, moment: datetime) -> None:
        """Run from ``moment`` on (not frozen)."""
        self.frozen, self.offset = None, moment - datetime.now(UTC)


FAULT_STATUS = {"H103": 500, "H470": 500, "H015": 500, "H192": 503, "H123": 400, "H124": 429}


@dataclass
class Faults:
    """Fault knobs, applied to İYS endpoints (never to ``/_sandbox/``), in this order:

    outage window (503 H192, or a reset connection), latency + jitter, hangs, injected errors
    (``next_errors`` one per request first, then ``error_rates`` per code and ``error_rate``
    with ``error_code``), the per-second limit, the real handler, and finally ``lose_next``
    (the request IS processed but the answer is replaced by 500 H103, as when a response is
    lost on the way back). ``path_contains`` narrows hangs, injected errors and lost answers
    to matching paths (e.g. "/consents").
    """

    latency: float = 0.0                       # seconds added to every answer
    jitter: float = 0.0                        # plus uniform(0, jitter)
    error_rate: float = 0.0                    # probability of ``error_code``
    error_code: str = "H103"                   # H103 | H470 (500), H192 (503), H123 (400), H124
    error_rates: dict[str, float] = field(default_factory=dict)  # {"H470": 0.1, ...}
    next_errors: deque[str] = field(default_factory=deque)
    hang_next: int = 0                         # requests answered only after hang_seconds
    hang_seconds: float = 60.0                 # longer than any client timeout
    lose_next: int = 0                         # processed, then answered 500 H103
    path_contains: str = ""
    outage_from: datetime | None = None        # sandbox-clock window in which every request
    outage_until: datetime | None = None       # fails: 503 H192, or reset when mode "reset"
    outage_mode: str = "503"

    def to_dict(self) -> dict[str, Any]:
        return {"latency": self.latency, "jitter": self.jitter, "error_rate": self.error_rate,
                "error_code": self.error_code, "error_rates": dict(self.error_rates),
                "next_errors": list(self.next_errors), "hang_next": self.hang_next,
                "hang_seconds": self.hang_seconds, "lose_next": self.lose_next,
                "path_contains": self.path_contains,
                "outage_from": self.outage_from.isoformat() if self.outage_from else None,
                "outage_until": self.outage_until.isoformat() if self.outage_until else None,
                "outage_mode": self.outage_mode}


@dataclass
class SandboxConfig:
    accounts: list[Account] = field(default_factory=lambda: [
        Account("sandbox", "sandbox", 700001, (700001, 700002))])
    token_calls_per_hour: int = 10
    requests_per_second: int = 10      # per client IP (0: unlimited) → 429 H124
    batch_result_delay: float = 300.0  # sandbox-clock seconds before batch items leave enqueue
    access_token_ttl: int = 7200
    refresh_token_ttl: int = 14400
    faults: Faults = field(default_factory=Faults)  # knobs in force from the start
    clock_offset: float = 0.0          # start the sandbox clock at real time + this
    # Before a batch is processed İYS may answer per-item "enqueue" or an empty body (§2.3);
    # clients must treat both as "not finished". "enqueue" or "empty".
    batch_pending: str = "enqueue"


@dataclass
class Token:
    account: Account
    expires: datetime


@dataclass
class Batch:
    request_id: str
    brand_code: int
    submitted: datetime
    items: list[tuple[Consent, str]]           # (consent, subRequestId)
    results: list[dict[str, Any]] | None = None
    v2: bool = False                           # submitted on /v2/: results say so (§2.2)


Key = tuple[int, str, str, str]  # brand_code, recipient, recipient_type, type


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = Clock(config.clock_offset)
        self.faults = copy.deepcopy(config.faults)
        self.access: dict[str, Token] = {}
        self.refresh: dict[str, Token] = {}
        self.token_calls: dict[str, deque[datetime]] = defaultdict(deque)
        self.token_halt_until: dict[str, datetime] = {}
        self.current: dict[Key, Movement] = {}
        self.movements: list[Movement] = []
        self.idempotent: dict[str, dict[str, Any]] = {}   # v2: request digest → response
        self.batches: dict[str, Batch] = {}
        self.requests: Counter[str] = Counter()            # "POST /…consents 200"
        self.per_second: dict[str, deque[float]] = defaultdict(deque)
        self.max_per_second = 0
        self.monotonic: Callable[[], float] = time.monotonic  # settable for tests
        self.stopping = asyncio.Event()  # set on shutdown: hung requests let go at once
        # push registration (push.py): brand → connections; what was pushed, and its answer
        self.push_connections: dict[int, list[dict[str, str]]] = defaultdict(list)
        self.pushed: list[tuple[str, str, int | None]] = []
        # reconciliation (reconciliation.py): the agreements recorded per (brand, day)
        self.agreements: dict[tuple[int, str], bool] = {}

    # -- movements -----------------------------------------------------------------------
    def transaction_id(self, key: Key, when: datetime) -> str:
        # same key within the same second shares a transactionId (IYS_API.md §2.1)
        seed = f"{key}|{when.replace(microsecond=0).isoformat()}"
        return hashlib.sha256(seed.encode()).hexdigest()

    def record(self, brand_code: int, consent: Consent, source: str | None = None,
               when: datetime | None = None) -> Movement:
        """Store an accepted movement (no rules checked here: callers check them)."""
        # creationDate has whole seconds in İYS; keeping them whole keeps the feed's
        # `<epochSeconds>_<transactionId>` cursor consistent with its order.
        now = (when or self.clock.now()).replace(microsecond=0)
        key: Key = (brand_code, *consent.key_tail)
        movement = Movement(brand_code, consent.recipient, consent.recipient_type, consent.type,
                            consent.status, source or consent.source or "",
                            consent.consent_date, now, self.transaction_id(key, now))
        self.current[key] = movement
        self.movements.append(movement)
        return movement

    def movements_for(self, brand_code: int, recipient: str, recipient_type: str = "BIREYSEL",
                      type_: str = "MESAJ") -> list[Movement]:
        return [m for m in self.movements if (m.brand_code, m.recipient, m.recipient_type,
                                              m.type) == (brand_code, recipient, recipient_type,
                                                          type_)]

    def accepted_count(self, brand_code: int, recipient: str, recipient_type: str = "BIREYSEL",
                       type_: str = "MESAJ") -> int:
        """How many movements İYS stored for the key (for "exactly once" assertions)."""
        return len(self.movements_for(brand_code, recipient, recipient_type, type_))

    def requests_matching(self, fragment: str) -> int:
        """Requests whose "METHOD /route STATUS" counter name contains ``fragment``."""
        return sum(n for name, n in self.requests.items() if fragment in name)

    @staticmethod
    def digest(path: str, body: Any) -> str:
        return hashlib.sha256(f"{path}|{json.dumps(body, sort_keys=True)}".encode()).hexdigest()

    # -- rate limit ----------------------------------------------------------------------
    def over_rate(self, ip: str) -> bool:
        """Count this request in the client's last second; True when it exceeds the limit."""
        now = self.monotonic()
        window = self.per_second[ip]
        window.append(now)
        while window and window[0] <= now - 1.0:
            window.popleft()
        self.max_per_second = max(self.max_per_second, len(window))
        limit = self.config.requests_per_second
        return bool(limit) and len(window) > limit

    # -- tokens --------------------------------------------------------------------------
    def issue_tokens(self, account: Account) -> dict[str, Any]:
        now = self.clock.now()
        access, refresh = "sbx_" + secrets.token_hex(24), "sbr_" + secrets.token_hex(24)
        self.access[access] = Token(account, now + timedelta(seconds=self.config.access_token_ttl))
        self.refresh[refresh] = Token(account,
                                      now + timedelta(seconds=self.config.refresh_token_ttl))
        return {"access_token": access, "refresh_token": refresh,
                "expires_in": self.config.access_token_ttl,
                "refresh_expires_in": self.config.refresh_token_ttl, "token_type": "bearer"}

    def token_call_allowed(self, ip: str) -> bool:
        """Hourly token limit; a call inside the penalty hour restarts it (IYS_API.md §1.3)."""
        now = self.clock.now()
        halted = self.token_halt_until.get(ip)
        if halted is not None and now < halted:
            self.token_halt_until[ip] = now + timedelta(hours=1)
            return False
        calls = self.token_calls[ip]
        while calls and calls[0] <= now - timedelta(hours=1):
            calls.popleft()
        if len(calls) >= self.config.token_calls_per_hour:
            self.token_halt_until[ip] = now + timedelta(hours=1)
            return False
        calls.append(now)
        return True

    def account_for(self, bearer: str) -> Account | None:
        token = self.access.get(bearer)
        if token is None or token.expires <= self.clock.now():
            return None
        return token.account

    def reset(self) -> None:
        self.__init__(self.config)  # type: ignore[misc]

    def summary(self) -> dict[str, Any]:
        per_key = Counter(f"{m.brand_code}|{m.recipient}|{m.recipient_type}|{m.type}"
                          for m in self.movements)
        return {
            "now": self.clock.now().isoformat(),
            "movements": len(self.movements),
            "movements_per_key": dict(per_key),
            "movement_list": [m.to_dict() for m in self.movements],
            "batches": {"pending": sum(b.results is None for b in self.batches.values()),
                        "processed": sum(b.results is not None
                                         for b in self.batches.values())},
            "requests": dict(self.requests),
            "token_calls": sum(self.requests[k] for k in self.requests if "/oauth2/token" in k),
            "max_requests_per_second": self.max_per_second,
            "faults": self.faults.to_dict(),
        }
