"""Self-service password change for directory accounts (5.17).

The person proves who they are with their current password (a bind against
the directory: ``Connector.check_password``), then the new one is set only
if our rules pass: AD's own complexity rule is much weaker than ours.

The change goes through the operation queue like every other change (ADR
0002, 8.32): this handler verifies and checks synchronously, then seals the
new password in the secret store (``services/secret_vault.py``) under a
one-off reference and writes a ``CHANGE_PASSWORD`` operation that names
only the reference. The worker sets it, verifies that it binds, and destroys
it (``services/password_change_step.py``); ``password_services.settle``
destroys what a dead, cancelled or stale change left behind. The password
never reaches the operation row, the audit trail or a log; the history
keeps its argon2 hash.

Guessing is throttled (``ChangeGuard``): ``max_failures`` wrong current
passwords for one account, or ``address_limit`` from one client address,
within ``window`` refuse further tries (429) until the window has passed.
Every refusal is audited, without the password.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from connectors.base import AccountRef, Capability, Connector, ConnectorError, Secret
from iam_service.domain.model import Account, AccountStatus, PersonStatus
from iam_service.domain.operations import (
    Operation,
    OperationKind,
    OperationStatus,
    Priority,
)
from iam_service.domain.password_records import PasswordChangeAttempt
from iam_service.domain.password_rules import Rule, RuleFailure, RuleResult, check
from iam_service.services.auth import Principal
from iam_service.services.console_sessions import Client
from iam_service.services.errors import (
    Forbidden,
    InvalidInput,
    NotFoundError,
    ServiceError,
)
from iam_service.services.local_sign_in import TooManyAttempts
from iam_service.services.password_checks import (
    MAX_INPUT,
    PasswordChecks,
    Subject,
)
from iam_service.services.provisioning import Systems
from iam_service.services.secret_vault import SecretStore
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

REF_PREFIX = "password-change-"
ACTOR = "system:password-change"


class CurrentPasswordWrong(ServiceError):
    status_code = 400
    code = "current_password_wrong"


class PasswordRefused(ServiceError):
    """The new password breaks our rules; ``result`` says which (no value)."""

    status_code = 422
    code = "password_rules"

    def __init__(self, result: RuleResult) -> None:
        failed = ", ".join(f.rule for f in result.failures)
        super().__init__(
            f"the new password breaks these rules: {failed}",
            field="new_password",
            details=[
                {"field": "new_password", "rule": str(f.rule), "limit": f.limit}
                for f in result.failures
            ],
        )
        self.result = result


class DirectoryUnavailable(ServiceError):
    status_code = 503
    code = "system_unavailable"


@dataclass(frozen=True)
class ChangeGuard:
    max_failures: int = 5
    address_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    # How long a sealed new password may wait for the worker.
    secret_ttl: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ChangeableAccount:
    system_key: str
    username: str


@dataclass(frozen=True)
class ChangeQueued:
    operation_id: int
    system_key: str
    username: str


@dataclass(frozen=True)
class _Target:
    account_key: str  # "system:username", for throttling
    account_id: int
    person_id: int
    employee_id: str
    subject: Subject
    ref: AccountRef
    reused: Callable[[str], bool]


class PasswordChanges:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        checks: PasswordChecks,
        systems: Systems,
        connector_factory: Callable[[str], Connector],
        store: SecretStore | None,
        guard: ChangeGuard | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.checks = checks
        self.systems = systems
        self.connector_factory = connector_factory
        self.store = store
        self.guard = guard or ChangeGuard()

    def accounts(self, who: Principal) -> list[ChangeableAccount]:
        """The caller's own accounts whose password they may change here."""
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(who.employee_id or "")
            if person is None or person.id is None:
                return []
            return [
                ChangeableAccount(a.system_key, a.username)
                for a in uow.accounts.for_person(person.id)
                if self._changeable(a)
            ]

    def change(
        self, who: Principal, system_key: str, current: str, new: str, client: Client
    ) -> ChangeQueued:
        """Verify ``current`` by bind, check ``new`` against the rules, and
        queue the change. Raises ``CurrentPasswordWrong`` (400),
        ``PasswordRefused`` (422), ``TooManyAttempts`` (429)."""
        if self.store is None:
            raise ServiceError("no secret store is configured for password changes")
        for name, value in (("current_password", current), ("new_password", new)):
            if not value or len(value) > MAX_INPUT:
                raise InvalidInput(f"{name} is empty or too long", field=name)
        target = self._target(who, system_key, client)
        if not self._binds(system_key, target.ref, current):
            self._refuse(target, client, "current_password", system_key)
        context = self.checks.context(target.subject, reused=target.reused)
        result = check(new, context)
        if new == current and Rule.REUSED not in result.failed:
            result = _with(result, RuleFailure(Rule.REUSED, context.rules.history))
        if not result.ok:
            self._note(
                target, client, succeeded=True, reason="rules", system=system_key
            )
            raise PasswordRefused(result)
        return self._queue(target, system_key, new, client)

    def _target(self, who: Principal, system_key: str, client: Client) -> _Target:
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(who.employee_id or "")
            if person is None or person.id is None or not who.employee_id:
                raise Forbidden("only a person with an employee id changes a password")
            if person.status is not PersonStatus.ACTIVE:
                raise Forbidden("this person is not active")
            account = next(
                (
                    a
                    for a in uow.accounts.for_person(person.id)
                    if a.system_key == system_key and self._changeable(a)
                ),
                None,
            )
            if account is None or account.id is None or account.native_id is None:
                raise NotFoundError(
                    f"you have no account in {system_key!r} whose password you "
                    "can change here",
                    field="system",
                )
            key = f"{system_key}:{account.username}"
            self._throttle(uow, key, client)
            return _Target(
                account_key=key,
                account_id=account.id,
                person_id=person.id,
                employee_id=person.employee_id,
                subject=self.checks.subject(uow, person.employee_id),
                ref=AccountRef(account.native_id, account.username),
                reused=self.checks.history_test(uow, person.id, system_key),
            )

    def _changeable(self, account: Account) -> bool:
        return (
            account.status is AccountStatus.ENABLED
            and account.native_id is not None
            and self.systems.can(account.system_key, Capability.PASSWORD)
            and self.systems.can(account.system_key, Capability.TEST_BIND)
        )

    def _throttle(self, uow: UnitOfWork, account_key: str, client: Client) -> None:
        since = uow.clock.now() - self.guard.window
        attempts = uow.password_change_attempts
        if (
            attempts.failures(since=since, account=account_key)
            < self.guard.max_failures
            and attempts.failures(since=since, client=client.address[:64])
            < self.guard.address_limit
        ):
            return
        uow.password_change_attempts.add(
            PasswordChangeAttempt(
                at=uow.clock.now(),
                account=account_key,
                client_address=client.address[:64],
                succeeded=False,
                reason="throttled",
            )
        )
        uow.record(
            ACTOR,
            "password.self_service_throttled",
            f"account:{account_key}",
            after={"address": client.address},
        )
        uow.commit()
        raise TooManyAttempts("too many wrong passwords; try again later")

    def _binds(self, system_key: str, ref: AccountRef, current: str) -> bool:
        connector = self.connector_factory(system_key)
        try:
            return bool(connector.check_password(ref, Secret(current)))
        except ConnectorError as error:
            raise DirectoryUnavailable(
                f"{system_key} could not check the password now: {error.message}"
            ) from None
        finally:
            connector.close()

    def _refuse(
        self, target: _Target, client: Client, reason: str, system_key: str
    ) -> NoReturn:
        self._note(target, client, succeeded=False, reason=reason, system=system_key)
        raise CurrentPasswordWrong("the current password is not right")

    def _note(
        self,
        target: _Target,
        client: Client,
        *,
        succeeded: bool,
        reason: str,
        system: str,
    ) -> None:
        with self.uow_factory() as uow:
            uow.password_change_attempts.add(
                PasswordChangeAttempt(
                    at=uow.clock.now(),
                    account=target.account_key,
                    client_address=client.address[:64],
                    succeeded=succeeded,
                    reason=reason,
                )
            )
            uow.record(
                f"person:{target.employee_id}",
                "password.self_service_refused",
                f"person:{target.employee_id}",
                after={
                    "system": system,
                    "account": target.ref.username,
                    "reason": reason,
                    "address": client.address,
                },
            )
            uow.commit()

    def _queue(
        self, target: _Target, system_key: str, new: str, client: Client
    ) -> ChangeQueued:
        assert self.store is not None  # noqa: S101 - checked by change()
        ref = f"{REF_PREFIX}{secrets.token_hex(12)}"
        self.store.put(ref, Secret(new))
        try:
            with self.uow_factory() as uow:
                operation = self._write(uow, target, system_key, ref, new, client)
                uow.commit()
        except BaseException:
            self.store.destroy(ref)
            raise
        return ChangeQueued(operation.id or 0, system_key, target.ref.username)

    def _write(
        self,
        uow: UnitOfWork,
        target: _Target,
        system_key: str,
        ref: str,
        new: str,
        client: Client,
    ) -> Operation:
        now = uow.clock.now()
        operation = uow.enqueue(
            Operation(
                idempotency_key=f"self-service:{ref}",
                system_key=system_key,
                account_key=f"{system_key}:{target.account_id}",
                kind=OperationKind.CHANGE_PASSWORD,
                payload={"secret_ref": ref, "must_change": False},
                priority=Priority.ELEVATED,
                account_id=target.account_id,
                person_id=target.person_id,
                cause=f"self-service:{target.employee_id}",
            )
        )
        if self.checks.rules.history:
            self.checks.remember(uow, target.person_id, system_key, new)
        uow.password_change_attempts.add(
            PasswordChangeAttempt(
                at=now,
                account=target.account_key,
                client_address=client.address[:64],
                succeeded=True,
                reason="queued",
            )
        )
        uow.flush()
        uow.record(
            f"person:{target.employee_id}",
            "password.self_service_requested",
            f"person:{target.employee_id}",
            after={
                "system": system_key,
                "account": target.ref.username,
                "operation": operation.id,
                "address": client.address,
            },
        )
        return operation

    def status(self, who: Principal, operation_id: int) -> OperationStatus:
        """Where the caller's own change stands."""
        with self.uow_factory() as uow:
            op = uow.operations.get(operation_id)
            person = uow.persons.by_employee_id(who.employee_id or "")
            if (
                op is None
                or op.kind is not OperationKind.CHANGE_PASSWORD
                or person is None
                or op.person_id != person.id
            ):
                raise NotFoundError(f"no password change {operation_id}")
            return op.status


def _with(result: RuleResult, failure: RuleFailure) -> RuleResult:
    return RuleResult(
        failures=(*result.failures, failure),
        score=result.score,
        warning=result.warning,
        suggestions=result.suggestions,
        length=result.length,
        kinds=result.kinds,
    )
