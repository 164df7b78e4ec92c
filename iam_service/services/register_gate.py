"""The approval gate (5.23): a connector runs only for an approved system.

``ApprovedSystems`` is handed to the operation queue by the composition
root: every claim is limited to approved systems, so operations for a
system awaiting approval (or suspended) stay pending and run once it is
approved, without a restart. ``approved_only`` wraps a connector factory
for reads (display, reconciliation) so that they refuse too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from connectors.base import Connector
from iam_service.domain.register import waiting_note
from iam_service.services.errors import ConflictError
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SystemNotApproved(ConflictError):
    """A connector was asked for a system the register does not allow."""

    code = "system_not_approved"


class ApprovedSystems:
    """The keys of approved systems, read at most once per ``ttl`` seconds.

    Every claim asks; the cache keeps that to one small query per ``ttl``
    per process. A decision taken in this process clears it at once; other
    processes (the worker beside the API) see it within ``ttl``.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        ttl: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow_factory = uow_factory
        self._ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys: frozenset[str] = frozenset()
        self._read_at: float | None = None

    def keys(self) -> frozenset[str]:
        """The approved system keys, at most ``ttl`` seconds old."""
        with self._lock:
            now = self._monotonic()
            if self._read_at is None or now - self._read_at >= self._ttl:
                with self._uow_factory() as uow:
                    self._keys = uow.register.approved_keys()
                self._read_at = now
            return self._keys

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = None

    def require(self, system_key: str) -> None:
        """Raise ``SystemNotApproved`` unless ``system_key`` is approved."""
        if system_key not in self.keys():
            raise SystemNotApproved(
                f"system {system_key} is not approved in the cloud-service "
                "register (5.23)",
                field="system",
            )


def approved_only(
    factory: Callable[[str], Connector], approved: ApprovedSystems
) -> Callable[[str], Connector]:
    """A connector factory for reads that refuses unapproved systems."""

    def build(system_key: str) -> Connector:
        approved.require(system_key)
        return factory(system_key)

    return build


def waiting_notes(uow: UnitOfWork, system_keys: Collection[str]) -> dict[str, str]:
    """``{system: "waiting for approval of system X"}`` for those of
    ``system_keys`` whose operations wait on the register."""
    wanted = set(system_keys)
    if not wanted:
        return {}
    states = uow.register.states(wanted)
    notes = {key: waiting_note(key, states.get(key)) for key in wanted}
    return {key: note for key, note in notes.items() if note}
