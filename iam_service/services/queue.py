"""The operation queue's use cases: claim, record the outcome, retry, park.

Every outcome is written with the operation, the account state it verified
and its audit record in one transaction. A worker whose lease expired (it
was presumed dead and its operation given to another) cannot overwrite the
newer outcome: completion checks that the lease is still its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.base import ConnectorError, NotFound, RetryableError
from iam_service.adapters import queue_store
from iam_service.domain.model import Account, AccountStatus
from iam_service.domain.operations import Backoff, Operation, OperationStatus
from iam_service.domain.password_rules import PasswordRules
from iam_service.services.execution import Job, Outcome
from iam_service.services.secret_vault import SecretStore
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class QueuePolicy:
    lease: timedelta = timedelta(seconds=60)
    backoff: Backoff = field(default_factory=Backoff)


class OperationQueue:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        policy: QueuePolicy,
        approved: Callable[[], frozenset[str]] | None = None,
        password_rules: Callable[[], PasswordRules] = PasswordRules,
        secrets: SecretStore | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy
        # 5.23: the systems whose operations may run (the cloud-service
        # register's approved keys, cached); None means no gate.
        self.approved = approved
        # 5.17: the active policy's rules, for the passwords workers generate.
        self.password_rules = password_rules
        # 5.18: where workers put the passwords someone must learn (a rotated
        # admin password), sealed until shown once (services/secret_vault.py).
        self.secrets = secrets
        self._rng = random.Random()  # noqa: S311 - jitter only

    def claim(self, worker_id: str, systems: set[str] | None = None) -> Job | None:
        """Lease the next runnable operation, detached as a ``Job``."""
        jobs = self.claim_chain(worker_id, systems, chain=1)
        return jobs[0] if jobs else None

    def claim_chain(
        self,
        worker_id: str,
        systems: set[str] | None = None,
        *,
        chain: int = 8,
        exclude: frozenset[str] = frozenset(),
    ) -> list[Job]:
        """Lease the next runnable operation and up to ``chain - 1`` more
        queued behind it on the same account; run them in order and
        ``release`` the rest if one fails.

        Only systems ``approved`` allows are claimed: the others' operations
        stay pending until the security officer approves them (5.23)."""
        if self.approved is not None:
            allowed = self.approved()
            systems = set(allowed) if systems is None else systems & allowed
            if not systems:
                return []
        with self.uow_factory() as uow:
            ops = queue_store.claim_next(
                uow.session,
                worker_id=worker_id,
                now=uow.clock.now(),
                lease=self.policy.lease,
                systems=systems,
                exclude=exclude,
                chain=chain,
            )
            rules = self.password_rules() if ops else PasswordRules()
            jobs = [self._job(uow, op, rules) for op in ops]
            if jobs:
                uow.commit()
            return jobs

    def release(self, worker_id: str, jobs: list[Job]) -> None:
        """Give back leased operations that were not tried."""
        if not jobs:
            return
        with self.uow_factory() as uow:
            queue_store.release(
                uow.session, worker_id, [j.operation_id for j in jobs], uow.clock.now()
            )
            uow.commit()

    def reap(self) -> int:
        """Give the operations of dead workers back to the queue."""
        with self.uow_factory() as uow:
            count = queue_store.reap_expired_leases(uow.session, uow.clock.now())
            if count:
                uow.record(
                    "worker",
                    "queue.reaped",
                    "queue",
                    after={"operations": count},
                    reason="lease expired",
                )
            uow.commit()
            return count

    def checkpoint(
        self, worker_id: str, operation_id: int, data: dict[str, Any]
    ) -> None:
        """Persist progress before a destructive step (see REMOVE_ALL_GROUPS)."""
        with self.uow_factory() as uow:
            op = self._owned(uow, worker_id, operation_id)
            if op is not None:
                op.result = {**op.result, "checkpoint": data}
                uow.commit()

    def succeed(self, worker_id: str, job: Job, outcome: Outcome) -> bool:
        with self.uow_factory() as uow:
            op = self._owned(uow, worker_id, job.operation_id)
            if op is None:
                return False
            now = uow.clock.now()
            op.status, op.finished_at, op.updated_at = (
                OperationStatus.SUCCEEDED,
                now,
                now,
            )
            op.result = {**op.result, **outcome.result, "verified_at": now.isoformat()}
            op.locked_by = op.lease_expires_at = op.last_error = None
            account = uow.accounts.get(op.account_id) if op.account_id else None
            if account is not None:
                _record_account_state(account, outcome, now)
            uow.record(
                f"worker:{worker_id}",
                f"operation.{op.kind}",
                _target(op),
                after={
                    "operation": op.id,
                    "system": op.system_key,
                    "account": account.username if account else None,
                    **outcome.result,
                },
                reason=op.cause or "",
            )
            uow.commit()
            return True

    def fail(
        self, worker_id: str, job: Job, error: ConnectorError
    ) -> OperationStatus | None:
        """Schedule a retry, or park the operation as dead."""
        with self.uow_factory() as uow:
            op = self._owned(uow, worker_id, job.operation_id)
            if op is None:
                return None
            now = uow.clock.now()
            op.last_error = f"{type(error).__name__}: {error}"[:2000]
            op.locked_by = op.lease_expires_at = None
            op.updated_at = now
            retry = isinstance(error, RetryableError) and op.attempts < op.max_attempts
            if retry:
                delay = self.policy.backoff.delay(op.attempts, self._rng)
                retry_after = getattr(error, "retry_after", None)
                if retry_after:
                    delay = max(delay, timedelta(seconds=float(retry_after)))
                op.status, op.next_attempt_at = OperationStatus.PENDING, now + delay
                action = "operation.retry_scheduled"
            else:
                op.status, op.finished_at = OperationStatus.DEAD, now
                action = "operation.dead"
            uow.record(
                f"worker:{worker_id}",
                action,
                _target(op),
                after={
                    "operation": op.id,
                    "kind": str(op.kind),
                    "system": op.system_key,
                    "attempts": op.attempts,
                    "error": op.last_error,
                    "not_found": isinstance(error, NotFound),
                },
                reason=op.cause or "",
            )
            uow.commit()
            return op.status

    def retry_dead(self, operation_id: int, actor: str) -> Operation | None:
        """Put a dead operation back in the queue (``iamctl ops retry``), with
        the later dead operations on the same account, which usually died
        because of it; they run again in their order."""
        with self.uow_factory() as uow:
            op = uow.operations.get(operation_id)
            if op is None or op.status is not OperationStatus.DEAD:
                return None
            later = uow.operations.dead_after(op.account_key, op.id or 0)
            for each in (op, *later):
                each.status, each.attempts = OperationStatus.PENDING, 0
                each.next_attempt_at = uow.clock.now()
                each.finished_at = None
                uow.record(
                    actor,
                    "operation.requeued",
                    _target(each),
                    after={"operation": each.id},
                )
            uow.commit()
            return op

    @staticmethod
    def _owned(uow: UnitOfWork, worker_id: str, operation_id: int) -> Operation | None:
        op = uow.operations.get(operation_id)
        if (
            op is None
            or op.status is not OperationStatus.RUNNING
            or op.locked_by != worker_id
        ):
            return None  # our lease expired and the work went to someone else
        return op

    @staticmethod
    def _job(uow: UnitOfWork, op: Operation, rules: PasswordRules) -> Job:
        account = uow.accounts.get(op.account_id) if op.account_id else None
        manager_native = None
        payload = op.payload
        manager_id = (payload.get("account") or payload.get("changes") or {}).get(
            "manager_employee_id"
        )
        if manager_id:
            manager = uow.persons.by_employee_id(manager_id)
            if manager is not None and manager.id is not None:
                manager_native = next(
                    (
                        a.native_id
                        for a in uow.accounts.for_person(manager.id)
                        if a.system_key == op.system_key
                    ),
                    None,
                )
        return Job(
            operation_id=op.id or 0,
            kind=op.kind,
            payload=dict(payload),
            system_key=op.system_key,
            username=account.username if account else "",
            native_id=account.native_id if account else None,
            manager_native_id=manager_native,
            checkpoint_data=dict(op.result.get("checkpoint", {})),
            password_rules=rules,
        )


def _record_account_state(account: Account, outcome: Outcome, now: datetime) -> None:
    if outcome.native_id:
        account.native_id = outcome.native_id
    if outcome.gone:
        account.status = AccountStatus.DELETED
    elif outcome.enabled is not None:
        account.status = (
            AccountStatus.ENABLED if outcome.enabled else AccountStatus.DISABLED
        )
    account.verified_at = now


def _target(op: Operation) -> str:
    return (
        f"account:{op.system_key}:{op.account_id}"
        if op.account_id
        else f"queue:{op.id}"
    )
