"""The operation worker (``iamctl worker``): claims operations, applies them
with the right connector, and records the verified outcome.

Several worker processes, each with several threads, may share one
PostgreSQL queue. A thread that finds nothing to do sleeps until PostgreSQL
``NOTIFY`` says work arrived (or the poll interval passes, on SQLite).
Connectors are built per thread: an LDAP connection is not shared.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from connectors.base import Connector, ConnectorError, PermanentError, RetryableError
from iam_service import metrics
from iam_service.services.execution import Job, Outcome, execute
from iam_service.services.queue import OperationQueue
from jobs.system_gate import SystemGate

log = logging.getLogger(__name__)
ConnectorFactory = Callable[[str], Connector]


class ConnectorPool:
    """One connector per system per thread, built on first use."""

    def __init__(self, factory: ConnectorFactory) -> None:
        self._factory = factory
        self._local = threading.local()
        self._all: list[Connector] = []
        self._lock = threading.Lock()

    def get(self, system_key: str) -> Connector:
        cache: dict[str, Connector] = self._local.__dict__.setdefault("cache", {})
        if system_key not in cache:
            connector = self._factory(system_key)
            cache[system_key] = connector
            with self._lock:
                self._all.append(connector)
        return cache[system_key]

    def close(self) -> None:
        with self._lock:
            for connector in self._all:
                try:
                    connector.close()
                except ConnectorError:
                    log.warning("closing %s failed", connector.system_id)
            self._all.clear()


class Wakeup:
    """Wakes idle worker threads. ``notify`` is called by the listener."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wait(self, timeout: float) -> None:
        with self._condition:
            seen = self._generation
            self._condition.wait_for(lambda: self._generation != seen, timeout=timeout)


@dataclass(frozen=True)
class WorkerConfig:
    threads: int = 4
    poll_seconds: float = 1.0
    reap_every_seconds: float = 15.0
    chain: int = 8  # operations of one account taken in one claim
    cooldown_seconds: float = 5.0  # a failing system is left alone this long
    limits: Mapping[str, int] = field(default_factory=dict)  # max_parallel per system
    systems: frozenset[str] | None = None  # None: every system


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        queue: OperationQueue,
        pool: ConnectorPool,
        config: WorkerConfig,
        *,
        worker_id: str | None = None,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.queue = queue
        self.pool = pool
        self.config = config
        self.worker_id = worker_id or default_worker_id()
        self.wakeup = wakeup or Wakeup()
        self.gate = SystemGate(config.cooldown_seconds, config.limits)

    def run_once(self, thread_name: str = "0") -> bool:
        """Claim and run the next operation (and the ones queued right behind
        it on the same account); False when the queue had nothing."""
        owner = f"{self.worker_id}/{thread_name}"
        systems = set(self.config.systems) if self.config.systems is not None else None
        with self.gate.claiming() as excluded:
            jobs = self.queue.claim_chain(
                owner, systems, chain=self.config.chain, exclude=excluded
            )
            if not jobs:
                return False
            self.gate.started(jobs[0].system_key)
        try:
            self._run_chain(owner, jobs)
        finally:
            self.gate.finished(jobs[0].system_key)
        return True

    def _run_chain(self, owner: str, jobs: list[Job]) -> None:
        native_id: str | None = None
        for index, job in enumerate(jobs):
            if native_id and not job.native_id:  # created earlier in this chain
                job = replace(job, native_id=native_id)
            outcome = self._run(owner, job)
            if outcome is None:
                # Later steps must not overtake a failed one: hand them back.
                self.queue.release(owner, jobs[index + 1 :])
                return
            native_id = outcome.native_id or job.native_id

    def drain(self, limit: int = 1_000_000) -> int:
        """Run until nothing is runnable now (tests, ``iamctl worker --once``)."""
        done = 0
        while done < limit and self.run_once():
            done += 1
        return done

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set, with ``config.threads`` threads."""
        self.queue.reap()
        threads = [
            threading.Thread(
                target=self._loop, args=(stop, str(i)), name=f"worker-{i}", daemon=True
            )
            for i in range(self.config.threads)
        ]
        for thread in threads:
            thread.start()
        last_reap = time.monotonic()
        while not stop.wait(1.0):
            if time.monotonic() - last_reap >= self.config.reap_every_seconds:
                self._safe(self.queue.reap)
                last_reap = time.monotonic()
        self.wakeup.notify()
        for thread in threads:
            thread.join(timeout=30)
        self.pool.close()

    def _loop(self, stop: threading.Event, name: str) -> None:
        while not stop.is_set():
            try:
                worked = self.run_once(name)
            except Exception:  # a database outage must not kill the thread
                log.exception("worker thread %s: queue error; retrying shortly", name)
                stop.wait(self.config.poll_seconds)
                continue
            if not worked:
                self.wakeup.wait(self.config.poll_seconds)

    def _run(self, owner: str, job: Job) -> Outcome | None:
        started = time.perf_counter()
        try:
            connector = self.pool.get(job.system_key)
            outcome = execute(
                connector,
                job,
                lambda data: self.queue.checkpoint(owner, job.operation_id, data),
                secrets=self.queue.secrets,
            )
        except Exception as raw:
            if isinstance(raw, RetryableError):
                self.gate.cool(job.system_key, raw.retry_after)
            error = (
                raw
                if isinstance(raw, ConnectorError)
                else PermanentError(
                    f"unexpected {type(raw).__name__}: {raw}", system=job.system_key
                )
            )
            if not isinstance(raw, ConnectorError):
                log.exception("operation %s: connector bug", job.operation_id)
            status = self.queue.fail(owner, job, error)
            metrics.operation_finished(job.system_key, job.kind, f"{status}", started)
            log.warning(
                "operation %s %s on %s failed (%s): %s",
                job.operation_id,
                job.kind,
                job.system_key,
                status,
                error,
            )
            return None
        if not self.queue.succeed(owner, job, outcome):
            return None  # our lease ran out and the work went elsewhere
        metrics.operation_finished(job.system_key, job.kind, "succeeded", started)
        return outcome

    @staticmethod
    def _safe(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:
            log.exception("periodic queue maintenance failed")
