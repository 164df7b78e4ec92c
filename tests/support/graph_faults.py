"""Fault injection and request counting for the Graph test server.

``Faults`` decides, per Graph request (``$batch`` items included), whether to
answer with an injected error instead: a window of 429s or 503s with
``Retry-After`` (``throttle``), or the next K matching requests failing with
a chosen status (``fail_next``). ``latency_ms`` delays every HTTP request.
``Stats`` counts what arrived, so tests can assert "one token request" or
"three batches".
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

_MESSAGES = {
    404: ("Request_ResourceNotFound", "Resource does not exist (injected)."),
    429: ("TooManyRequests", "Too many requests. Please retry after some time."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable."),
    500: ("generalException", "An unexpected error occurred."),
    403: (
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    ),
}


@dataclass
class Rule:
    status: int
    path: str | None  # a Graph path prefix ("/users"); None: every request
    method: str | None
    until: float | None = None  # time.monotonic() deadline of a window
    remaining: int | None = None  # how many more requests it fails
    retry_after: float | None = None
    code: str = ""
    message: str = ""

    def matches(self, method: str, path: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or path.startswith(self.path)


@dataclass(frozen=True)
class Injected:
    status: int
    code: str
    message: str
    headers: dict[str, str]


class Faults:
    """What goes wrong, and when. Thread-safe."""

    def __init__(self) -> None:
        self.latency_ms = 0
        self._rules: list[Rule] = []
        self._lock = threading.Lock()

    def throttle(
        self,
        seconds: float,
        *,
        retry_after: float = 1,
        path: str | None = None,
        method: str | None = None,
        status: int = 429,
    ) -> None:
        """Answer ``status`` (429, or 503) with ``Retry-After`` for ``seconds``."""
        self._add(
            Rule(
                status,
                path,
                method,
                until=time.monotonic() + seconds,
                retry_after=retry_after,
            )
        )

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        path: str | None = None,
        method: str | None = None,
        code: str = "",
        message: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Fail the next ``count`` matching requests with ``status``."""
        self._add(
            Rule(
                status,
                path,
                method,
                remaining=count,
                retry_after=retry_after,
                code=code,
                message=message,
            )
        )

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency_ms = 0

    def check(self, method: str, path: str) -> Injected | None:
        """The error to answer with instead, if a rule matches (and counts it)."""
        now = time.monotonic()
        with self._lock:
            rule = next((r for r in self._rules if r.matches(method, path, now)), None)
            if rule is None:
                return None
            if rule.remaining is not None:
                rule.remaining -= 1
        code, message = _MESSAGES.get(rule.status, ("BadRequest", "Injected failure."))
        headers = {}
        if rule.retry_after is not None:
            headers["Retry-After"] = f"{rule.retry_after:g}"
        return Injected(
            rule.status, rule.code or code, rule.message or message, headers
        )

    def delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def _add(self, rule: Rule) -> None:
        with self._lock:
            self._rules.append(rule)


@dataclass
class Stats:
    """What the server received. ``requests`` counts HTTP requests by
    ``(method, path)``; ``graph`` counts Graph calls including batch items."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    graph: Counter[tuple[str, str]] = field(default_factory=Counter)
    token_requests: int = 0
    discovery_requests: int = 0
    batches: list[int] = field(default_factory=list)  # the size of each $batch
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self, method: str | None = None, prefix: str = "") -> int:
        """Graph calls (batch items included) matching method and path prefix."""
        with self.lock:
            return sum(
                n
                for (m, p), n in self.graph.items()
                if (method is None or m == method) and p.startswith(prefix)
            )

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.graph.clear()
            self.token_requests = self.discovery_requests = 0
            self.batches.clear()
