"""The unit of work: one transaction, its repositories, its audit records and
its outbox of operations.

Only use-case handlers commit, and only through ``UnitOfWork.commit``. The
commit seals the audit records into the hash chain and, on PostgreSQL, wakes
the workers with ``NOTIFY`` in the same transaction as the operations it
queued: a change and its record are written together or not at all (the
transactional outbox).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.orm import Session

from iam_service.adapters import queue_store, register_store, repository
from iam_service.adapters.orm_access import (
    AccessRequestRepository,
    MoverReviewRepository,
    SodExceptionRepository,
)
from iam_service.adapters.orm_assets import AssetRepository
from iam_service.adapters.orm_connector_state import ConnectorStateRepository
from iam_service.adapters.orm_console import (
    ConsoleSessionRepository,
    RoleAssignmentRepository,
    SignInAttemptRepository,
    SignInFlowRepository,
)
from iam_service.adapters.orm_elevation import ElevationRepository
from iam_service.adapters.orm_mail import MailRepository
from iam_service.adapters.orm_offboarding import OffboardingRepository
from iam_service.adapters.orm_passwords import (
    PasswordChangeAttemptRepository,
    PasswordHistoryRepository,
)
from iam_service.adapters.orm_policy import PolicyVersionRepository
from iam_service.adapters.orm_privileged import (
    HandoverRepository,
    PrivilegedRepository,
    SealedSecretRepository,
)
from iam_service.adapters.orm_reconcile import ReconcileRepository
from iam_service.adapters.orm_reviews import (
    CampaignRepository,
    DelegationRepository,
    ReviewItemRepository,
    ReviewRepository,
)
from iam_service.adapters.orm_scim import ScimUserRepository
from iam_service.domain.audit import GENESIS_HASH, AuditRecord, redact
from iam_service.domain.clock import Clock
from iam_service.domain.operations import Operation

# Any constant will do; it names the lock that orders audit appends.
_AUDIT_LOCK_KEY = 0x1A_A0D17


@dataclass
class _Pending:
    audit: list[AuditRecord] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)


class UnitOfWork:
    """Use as ``with uow_factory() as uow: ...; uow.commit()``.

    Leaving the block without ``commit`` rolls everything back.
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        clock: Clock,
        *,
        max_attempts: int = 12,
    ) -> None:
        self._session_factory = session_factory
        self.clock = clock
        self.max_attempts = max_attempts

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        s = self.session
        self.persons = repository.PersonRepository(s)
        self.departments = repository.DepartmentRepository(s)
        self.systems = repository.SystemRepository(s)
        self.accounts = repository.AccountRepository(s)
        self.entitlements = repository.EntitlementRepository(s)
        self.grants = repository.GrantRepository(s)
        self.hr_events = repository.HrEventRepository(s)
        self.notices = repository.NoticeRepository(s)
        self.tokens = repository.TokenRepository(s)
        self.local_users = repository.LocalUserRepository(s)
        self.audit = repository.AuditRepository(s)
        self.operations = repository.OperationRepository(s)
        self.register = register_store.RegisterRepository(s)
        self.scim_users = ScimUserRepository(s)
        self.connector_state = ConnectorStateRepository(s)
        self.policy_versions = PolicyVersionRepository(s)
        self.access_requests = AccessRequestRepository(s)
        self.sod_exceptions = SodExceptionRepository(s)
        self.mover_reviews = MoverReviewRepository(s)
        self.campaigns = CampaignRepository(s)
        self.reviews = ReviewRepository(s)
        self.review_items = ReviewItemRepository(s)
        self.delegations = DelegationRepository(s)
        self.assets = AssetRepository(s)
        self.offboarding = OffboardingRepository(s)
        self.mail = MailRepository(s)
        self.console_sessions = ConsoleSessionRepository(s)
        self.role_assignments = RoleAssignmentRepository(s)
        self.sign_in_attempts = SignInAttemptRepository(s)
        self.sign_in_flows = SignInFlowRepository(s)
        self.password_history = PasswordHistoryRepository(s)
        self.password_change_attempts = PasswordChangeAttemptRepository(s)
        self.privileged = PrivilegedRepository(s)
        self.handovers = HandoverRepository(s)
        self.sealed_secrets = SealedSecretRepository(s)
        self.elevations = ElevationRepository(s)
        self.reconcile = ReconcileRepository(s)
        self._pending = _Pending()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed, and keeps the loaded
        # state of returned objects readable (rollback() would expire it).
        self.session.close()
        self._pending = _Pending()

    @property
    def is_postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    def record(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        before: Mapping[str, Any] | None = None,
        after: Mapping[str, Any] | None = None,
        reason: str = "",
    ) -> None:
        """Add an audit record to this transaction (8.15). Secrets are redacted."""
        self._pending.audit.append(
            AuditRecord(
                actor=actor,
                action=action,
                target=target,
                at=self.clock.now(),
                before=redact(before),
                after=redact(after),
                reason=reason,
            )
        )

    def enqueue(self, operation: Operation) -> Operation:
        """Write an operation in this transaction; returns the existing one
        when its idempotency key was queued before."""
        existing = self.operations.by_key(operation.idempotency_key)
        if existing is not None:
            return existing
        now = self.clock.now()
        operation.created_at = operation.updated_at = now
        operation.next_attempt_at = max(now, operation.not_before or now)
        operation.max_attempts = self.max_attempts
        self.operations.add(operation)
        self._pending.operations.append(operation)
        return operation

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception inside undoes only its part."""
        audit_mark = len(self._pending.audit)
        ops_mark = len(self._pending.operations)
        nested = self.session.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            del self._pending.audit[audit_mark:]
            del self._pending.operations[ops_mark:]
            raise
        nested.commit()

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.flush()
        if self._pending.audit:
            self._seal_audit()
        if self._pending.operations:
            queue_store.notify(self.session)
        self.session.commit()
        self._pending = _Pending()

    def rollback(self) -> None:
        self.session.rollback()
        self._pending = _Pending()

    def _seal_audit(self) -> None:
        if self.is_postgres:
            # Held until commit: appends happen one transaction at a time,
            # so each record really follows the one before it.
            self.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _AUDIT_LOCK_KEY}
            )
        last = self.audit.last()
        seq, prev = (last.seq or 0, last.hash) if last else self._anchor()
        for record in self._pending.audit:
            seq += 1
            record.seal(seq, prev)
            prev = record.hash
            self.audit.add(record)
        self.session.flush()

    def _anchor(self) -> tuple[int, str]:
        return self.audit.anchor() or (0, GENESIS_HASH)


UnitOfWorkFactory = Callable[[], UnitOfWork]
