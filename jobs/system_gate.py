"""Which systems a worker may claim work for right now.

Two reasons to leave a system alone:

* it just failed (an outage, throttling): for a short cool-down, or as long
  as it asked with ``Retry-After``, so that the other systems' work never
  waits behind its timeouts ("one system's outage never delays the others");
* it already has as many operations in flight from this worker as it takes
  well (``max_parallel`` in the connectors file). Samba serialises writes,
  and parallel writes to the same large groups make it slower, not faster;
  see docs/benchmarks.md.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


class SystemGate:
    def __init__(self, cooldown_seconds: float, limits: Mapping[str, int]) -> None:
        self._cooldown = cooldown_seconds
        self._limits = dict(limits)
        self._until: dict[str, float] = {}
        self._in_flight: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._claim_lock = threading.Lock()

    def cool(self, system: str, retry_after: float | None = None) -> None:
        """Leave ``system`` alone for the cool-down, or ``retry_after``."""
        pause = max(self._cooldown, min(retry_after or 0.0, 300.0))
        with self._lock:
            self._until[system] = time.monotonic() + pause

    @contextmanager
    def claiming(self) -> Iterator[frozenset[str]]:
        """Hold the claim slot; yields the systems to leave out of the claim.
        Claims in one process take turns, so a limit cannot be overrun."""
        with self._claim_lock:
            yield self.excluded()

    def excluded(self) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            for system in [s for s, until in self._until.items() if until <= now]:
                del self._until[system]
            full = {s for s, n in self._limits.items() if self._in_flight[s] >= n}
            return frozenset(self._until) | frozenset(full)

    def started(self, system: str) -> None:
        with self._lock:
            self._in_flight[system] += 1

    def finished(self, system: str) -> None:
        with self._lock:
            self._in_flight[system] -= 1
