"""The password use cases wired together (5.17), and the periodic
settlement of self-service changes.

``settle`` (the ``settle_password_changes`` job) makes sure no sealed new
password outlives its change: it destroys the secrets of changes that ended
(succeeded, dead, cancelled) and cancels changes that waited longer than
``ChangeGuard.secret_ttl`` for a worker (a system not yet approved, workers
down), so that a password is never set long after the person asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from connectors.base import Connector
from iam_service.adapters.orm_passwords import change_operations
from iam_service.domain.clock import Clock
from iam_service.domain.operations import UNFINISHED, OperationStatus
from iam_service.domain.policy import Policy
from iam_service.services.password_changes import ACTOR, PasswordChanges
from iam_service.services.password_checks import PasswordChecks, RateLimiter
from iam_service.services.provisioning import Systems
from iam_service.services.secret_vault import SecretStore
from iam_service.services.unit_of_work import UnitOfWorkFactory

# Live feedback sends a check every few hundred milliseconds while typing.
CHECKS_PER_MINUTE = 120


@dataclass(frozen=True)
class PasswordServices:
    """The interactive check and the self-service change (5.17)."""

    checks: PasswordChecks
    changes: PasswordChanges

    def settle(self) -> int:
        """Destroy the sealed passwords of ended changes and cancel stale
        ones; returns how many ended changes were settled."""
        return settle(self.changes)


def build_password_services(
    uow_factory: UnitOfWorkFactory,
    policy: Callable[[], Policy],
    clock: Clock,
    systems: Systems,
    connectors: Callable[[str], Connector],
    store: SecretStore | None,
    *,
    company: str,
) -> PasswordServices:
    """``connectors`` should answer only for approved systems (5.23)."""
    limiter = RateLimiter(clock, CHECKS_PER_MINUTE, timedelta(minutes=1))
    checks = PasswordChecks(uow_factory, policy, company, limiter)
    changes = PasswordChanges(uow_factory, checks, systems, connectors, store)
    return PasswordServices(checks=checks, changes=changes)


def settle(changes: PasswordChanges) -> int:
    store, ttl = changes.store, changes.guard.secret_ttl
    if store is None:
        return 0
    with changes.uow_factory() as uow:
        now = uow.clock.now()
        ended: list[str] = []
        for op in change_operations(uow.session, ended_since=now - 2 * ttl):
            waited = op.created_at is not None and op.created_at <= now - ttl
            if op.status in UNFINISHED and waited and op.locked_by is None:
                op.status = OperationStatus.CANCELLED
                op.finished_at = op.updated_at = now
                op.last_error = "the new password waited too long; ask again"
                uow.record(ACTOR, "password.self_service_expired", f"op:{op.id}")
            if op.status not in UNFINISHED:
                ended.append(str(op.payload.get("secret_ref", "")))
        uow.commit()
    for ref in filter(None, ended):
        store.destroy(ref)
    return len(ended)
