"""Turning a person's wanted state into grants and queued operations.

Handlers decide *what* a person should have; this module writes the grants
and the operations that get the target systems there, inside the caller's
unit of work. It never calls a connector (the worker does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import Capability
from iam_service.domain.model import (
    Account,
    AccountStatus,
    Grant,
    GrantSource,
    GrantStatus,
    Person,
    PersonStatus,
)
from iam_service.domain.operations import Operation, OperationKind, Priority
from iam_service.domain.policy import Birthright, Policy
from iam_service.domain.usernames import base_username, unique_username
from iam_service.services.unit_of_work import UnitOfWork

DEFAULT_LEAVER_STEPS: tuple[OperationKind, ...] = (
    OperationKind.DISABLE_ACCOUNT,
    OperationKind.REVOKE_SESSIONS,
    OperationKind.SCRAMBLE_PASSWORD,
    OperationKind.REMOVE_ALL_GROUPS,
    OperationKind.REMOVE_LICENSES,
    OperationKind.MOVE_TO_LEAVERS,
)
_STEP_NEEDS: Mapping[OperationKind, Capability] = {
    OperationKind.REVOKE_SESSIONS: Capability.REVOKE_SESSIONS,
    OperationKind.SCRAMBLE_PASSWORD: Capability.PASSWORD,
    OperationKind.MOVE_TO_LEAVERS: Capability.MOVE_TO_LEAVERS,
    OperationKind.REMOVE_ALL_GROUPS: Capability.GROUPS,
    OperationKind.REMOVE_LICENSES: Capability.REMOVE_LICENSES,
}


@dataclass(frozen=True)
class Systems:
    """The connected systems the composition root configured, with what each
    can do. Systems the policy names but nobody configured are skipped."""

    capabilities: Mapping[str, frozenset[Capability]] = field(default_factory=dict)

    def configured(self, key: str) -> bool:
        return key in self.capabilities

    def can(self, key: str, capability: Capability) -> bool:
        return capability in self.capabilities.get(key, frozenset())


def account_payload(person: Person) -> dict[str, Any]:
    """The account attributes a person's record implies (no secrets)."""
    return {
        "employee_id": person.employee_id,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.email,
        "department": person.department_code,
        "title": person.title,
        "manager_employee_id": person.manager_employee_id,
    }


class Provisioner:
    """Writes grants and operations for one person in one unit of work."""

    def __init__(
        self,
        uow: UnitOfWork,
        policy: Policy,
        systems: Systems,
        *,
        actor: str,
        cause: str,
    ) -> None:
        self.uow = uow
        self.policy = policy
        self.systems = systems
        self.actor = actor
        self.cause = cause
        self.queued: list[Operation] = []

    # -- grants ---------------------------------------------------------
    def held_refs(self, person: Person) -> set[str]:
        now = self.uow.clock.now()
        grants = self.uow.grants.active_for_person(self._id(person))
        return {g.entitlement_ref for g in grants if g.is_effective(now)}

    def sync_birthright(self, person: Person, birthright: Birthright) -> None:
        """Add the birthright grants the person lacks and remove the ones the
        policy no longer gives; group operations follow from the difference
        in what the person holds through *any* grant."""
        now = self.uow.clock.now()
        before = self.held_refs(person)
        current = {
            g.entitlement_ref: g
            for g in self.uow.grants.active_for_person(self._id(person))
            if g.source is GrantSource.BIRTHRIGHT
        }
        for ref in sorted(birthright.entitlements - current.keys()):
            self.uow.grants.add(
                Grant(
                    person_id=self._id(person),
                    entitlement_ref=ref,
                    source=GrantSource.BIRTHRIGHT,
                    granted_at=now,
                    reason="birthright policy",
                    source_ref=",".join(sorted(birthright.roles)),
                )
            )
            self.uow.record(
                self.actor,
                "grant.added",
                _target(person),
                after={"entitlement": ref, "source": "birthright"},
                reason=self.cause,
            )
        for ref in sorted(current.keys() - birthright.entitlements):
            self.remove_grant(
                person, current[ref], "no longer in the birthright policy"
            )
        self.uow.flush()
        self.ensure_accounts(person, birthright.systems, enabled=_enabled(person))
        self.sync_memberships(person, before, self.held_refs(person))

    def remove_grant(self, person: Person, grant: Grant, why: str) -> None:
        grant.status = GrantStatus.REMOVED
        grant.removed_at = self.uow.clock.now()
        self.uow.record(
            self.actor,
            "grant.removed",
            _target(person),
            before={"entitlement": grant.entitlement_ref, "source": str(grant.source)},
            reason=f"{self.cause}: {why}",
        )

    # -- accounts -------------------------------------------------------
    def ensure_accounts(
        self, person: Person, systems: Iterable[str], *, enabled: bool
    ) -> None:
        """Queue a create for each system where the person has no live
        account; a deleted account (a rehire after deletion) is created anew."""
        existing = {
            a.system_key: a for a in self.uow.accounts.for_person(self._id(person))
        }
        for system_key in sorted(systems):
            if not self.systems.configured(system_key):
                continue
            account = existing.get(system_key)
            if account is not None and account.status is not AccountStatus.DELETED:
                continue
            if account is None:
                account = Account(
                    person_id=self._id(person),
                    system_key=system_key,
                    username=self._free_username(person, system_key),
                    created_at=self.uow.clock.now(),
                )
                self.uow.accounts.add(account)
            account.status, account.native_id = AccountStatus.PLANNED, None
            account.desired_enabled = enabled
            self.uow.flush()
            self.queue(
                account,
                OperationKind.CREATE_ACCOUNT,
                {"account": account_payload(person), "enabled": enabled},
            )

    def _free_username(self, person: Person, system_key: str) -> str:
        def taken(name: str) -> bool:
            return self.uow.accounts.username_taken(system_key, name)

        base = base_username(person.given_name, person.family_name, person.employee_id)
        return unique_username(base, taken)

    def sync_memberships(
        self,
        person: Person,
        before: set[str],
        after: set[str],
        *,
        priority: int = Priority.NORMAL,
    ) -> None:
        """Queue the group changes from holding ``before`` to ``after``
        (privileged elevations pass ``Priority.ELEVATED``)."""
        accounts = {
            a.system_key: a for a in self.uow.accounts.for_person(self._id(person))
        }
        for ref in sorted(after - before):
            self._membership(accounts, ref, OperationKind.ADD_TO_GROUP, priority)
        for ref in sorted(before - after):
            self._membership(accounts, ref, OperationKind.REMOVE_FROM_GROUP, priority)

    def _membership(
        self,
        accounts: Mapping[str, Account],
        ref: str,
        kind: OperationKind,
        priority: int = Priority.NORMAL,
    ) -> None:
        system_key, key = ref.split(":", 1)
        account = accounts.get(system_key)
        if account is None or account.status is AccountStatus.DELETED:
            return
        self.queue(account, kind, {"group": key}, priority=priority, suffix=key)

    def update_accounts(self, person: Person, changed: Iterable[str]) -> None:
        """Push changed HR attributes to every live account."""
        wanted = account_payload(person)
        changes = {name: wanted[name] for name in changed if name in wanted}
        if not changes:
            return
        for account in self.uow.accounts.for_person(self._id(person)):
            if account.status is not AccountStatus.DELETED:
                self.queue(account, OperationKind.UPDATE_ACCOUNT, {"changes": changes})

    def set_enabled(
        self, person: Person, enabled: bool, *, priority: int = Priority.NORMAL
    ) -> None:
        kind = (
            OperationKind.ENABLE_ACCOUNT if enabled else OperationKind.DISABLE_ACCOUNT
        )
        for account in self.uow.accounts.for_person(self._id(person)):
            if account.status is AccountStatus.DELETED:
                continue
            account.desired_enabled = enabled
            self.queue(account, kind, {}, priority=priority)

    def leave(self, person: Person) -> None:
        """5.16/5.18: make every account unusable at once, in the priority lane,
        then remove what it could reach. Steps a system cannot do are skipped."""
        for account in self.uow.accounts.for_person(self._id(person)):
            if account.status is AccountStatus.DELETED:
                continue
            account.desired_enabled = False
            for step in self.policy.leaver_steps_for(
                account.system_key, DEFAULT_LEAVER_STEPS
            ):
                need = _STEP_NEEDS.get(step)
                if need is None or self.systems.can(account.system_key, need):
                    self.queue(account, step, {}, priority=Priority.TERMINATION)

    def restore(self, person: Person) -> None:
        """A rehire before deletion (5.16): queue, for each surviving account,
        the removal of every membership still held (only fresh birthright
        comes back, never the old extra grants) and its return from the
        leavers' container with a fresh password. Call it before the
        birthright is provisioned: operations run in the order written."""
        for account in self.uow.accounts.for_person(self._id(person)):
            if account.status in (AccountStatus.DELETED, AccountStatus.PLANNED):
                continue
            key = account.system_key
            if self.systems.can(key, Capability.GROUPS):
                self.queue(account, OperationKind.REMOVE_ALL_GROUPS, {})
            if self.systems.can(key, Capability.MOVE_TO_LEAVERS) or self.systems.can(
                key, Capability.PASSWORD
            ):
                self.queue(account, OperationKind.RESTORE_ACCOUNT, {})

    # -- the outbox -----------------------------------------------------
    def queue(
        self,
        account: Account,
        kind: OperationKind,
        payload: dict[str, Any],
        *,
        priority: int = Priority.NORMAL,
        suffix: str = "",
    ) -> Operation:
        key = f"{self.cause}:{kind}:{account.id}" + (f":{suffix}" if suffix else "")
        operation = self.uow.enqueue(
            Operation(
                idempotency_key=key,
                system_key=account.system_key,
                account_key=f"{account.system_key}:{account.id}",
                kind=kind,
                payload=payload,
                priority=priority,
                account_id=account.id,
                person_id=account.person_id,
                cause=self.cause,
            )
        )
        self.queued.append(operation)
        return operation

    @staticmethod
    def _id(person: Person) -> int:
        if person.id is None:
            raise RuntimeError("flush the person before provisioning")
        return person.id


def _target(person: Person) -> str:
    return f"person:{person.employee_id}"


def _enabled(person: Person) -> bool:
    return person.status is PersonStatus.ACTIVE
