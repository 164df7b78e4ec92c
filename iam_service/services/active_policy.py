"""The policy in force: the active stored version (8.32), else the files.

``ActivePolicy`` is the ``policy`` callable the composition root hands to
every use case. Once a version has been activated the service reads its
policy from the database, never from ``IAM_POLICY_DIR`` again; until then
the files are the policy. The parsed policy is cached by version id: a
small query per ``ttl`` seconds tells whether another version became
active, so an activation takes effect without a restart (at once in the
process that activated it, within ``ttl`` in the others).

Use cases ask for the policy inside their unit of work, so it is read
through ``read_sessions``: sessions that never take the write lock (on
SQLite a deferred transaction reading a WAL snapshot), which a writer in
the same thread therefore never blocks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from iam_service.adapters.orm_policy import PolicyVersionRepository
from iam_service.adapters.policy_files import load_policy_texts
from iam_service.domain.policy import Policy


class ActivePolicy:
    def __init__(
        self,
        read_sessions: Callable[[], Session],
        files: Callable[[], Policy],
        ttl: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_sessions = read_sessions
        self._files = files
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._version_id: int | None = None
        self._policy: Policy | None = None
        self._checked_at: float | None = None

    def __call__(self) -> Policy:
        """The active policy, at most ``ttl`` seconds stale."""
        with self._lock:
            now = self._monotonic()
            stale = self._checked_at is None or now - self._checked_at >= self._ttl
            if self._policy is None or stale:
                self._policy = self._refresh()
                self._checked_at = now
            return self._policy

    @property
    def version_id(self) -> int | None:
        """The active version's id; None while the files are the policy."""
        self()
        return self._version_id

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = None

    def _refresh(self) -> Policy:
        with self._read_sessions() as session:
            versions = PolicyVersionRepository(session)
            version_id = versions.active_id()
            if version_id is None:
                self._version_id = None
                return self._files()
            if version_id == self._version_id and self._policy is not None:
                return self._policy
            version = versions.get(version_id)
            if version is None:  # versions are never deleted
                raise RuntimeError(f"policy version {version_id} vanished")
            policy = load_policy_texts(version.files)
            self._version_id = version_id
            return policy
