"""The privileged-account inventory's use cases (8.2): reading it with its
flags, registering manual accounts, owners, custodians and approvals.

Discovery fills the inventory (``privileged_discovery``); handovers and
rotations change passwords (``handover``). Every change here is audited
(target ``privileged:<id>``). Reading it is for the security officer,
system administrators and auditors; the views never hold a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from iam_service.domain import privileged as dom
from iam_service.domain.model import GrantSource, Person, PersonStatus
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    AccountSource,
    Approval,
    ApprovalCreate,
    Custodian,
    CustodianChange,
    GrantApproval,
    ManualAccountCreate,
    OwnerKind,
    OwnerUpdate,
    PrivilegedAccount,
)
from iam_service.services.auth import Principal
from iam_service.services.custodians import Custodianship
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
)
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

MANUAL_KIND = "manual"
_APPROVING_GRANTS = (GrantSource.REQUEST, GrantSource.ELEVATION)


def target(account: PrivilegedAccount) -> str:
    return f"privileged:{account.id}"


def require_account(uow: UnitOfWork, account_id: int) -> PrivilegedAccount:
    account = uow.privileged.get(account_id)
    if account is None:
        raise NotFoundError(
            f"no privileged account {account_id} in the inventory", field="account"
        )
    return account


def active_person(uow: UnitOfWork, employee_id: str, role: str) -> Person:
    """The person, refused (409) unless active: a leaver takes nothing over."""
    person = uow.persons.by_employee_id(employee_id)
    if person is None:
        raise NotFoundError(f"no person {employee_id}", field=role)
    if person.status is not PersonStatus.ACTIVE:
        raise ConflictError(
            f"{employee_id} is {person.status}; a {role} must be an active person",
            field=role,
        )
    return person


class InventoryViews:
    """Builds what a reader sees: entries with owner, custodians, approvals,
    flags and last rotation, in one pass over a unit of work."""

    def __init__(self, uow: UnitOfWork, policy: Policy) -> None:
        self.uow = uow
        self.policy = policy
        self.people = {p.employee_id: p for p in uow.persons.all()}
        self.now = uow.clock.now()

    def many(self, accounts: Sequence[PrivilegedAccount]) -> list[dict[str, Any]]:
        ids = [a.id or 0 for a in accounts]
        custodians = _by_account(self.uow.privileged.custodians(ids))
        approvals = _by_account(self.uow.privileged.approvals(ids))
        rotated = self.uow.handovers.last_rotated(ids)
        return [
            self.one(
                a, custodians.get(a.id or 0, []), approvals.get(a.id or 0, []), rotated
            )
            for a in accounts
        ]

    def one(
        self,
        account: PrivilegedAccount,
        custodians: list[Custodian],
        approvals: list[Approval],
        rotated: dict[int, Any],
    ) -> dict[str, Any]:
        grants = self._grant_approvals(account)
        last = rotated.get(account.id or 0)
        found = dom.flags(
            account,
            custodians=custodians,
            approvals=approvals,
            grants=grants,
            status_of={k: p.status for k, p in self.people.items()},
            last_rotated_at=last,
            rotation_period=self.policy.privileged.rotation_period(account.system_key),
            now=self.now,
        )
        return {
            "id": account.id,
            "system": account.system_key,
            "username": account.username,
            "native_id": account.native_id,
            "source": str(account.source),
            "description": account.description,
            "rights": [h.label() for h in account.holdings()],
            "enabled": account.enabled,
            "present": account.present,
            "owner": self._owner(account),
            "custodians": [self._person(c.employee_id) for c in custodians if c.active],
            "approvals": [_approval(a, self.now) for a in approvals]
            + [_grant(g, self.now) for g in grants],
            "flags": [str(f) for f in found],
            "last_rotated_at": last.isoformat() if last else None,
            "first_seen_at": _iso(account.first_seen_at),
            "last_seen_at": _iso(account.last_seen_at),
        }

    def _grant_approvals(self, account: PrivilegedAccount) -> list[GrantApproval]:
        owner = self.people.get(account.owner_employee_id or "")
        if (
            owner is None
            or owner.id is None
            or account.owner_kind is not OwnerKind.PERSON
        ):
            return []
        rights = {h.right.casefold(): h.right for h in account.holdings()}
        prefix = f"{account.system_key}:"
        found = []
        for grant in self.uow.grants.active_for_person(owner.id):
            key = grant.entitlement_ref.removeprefix(prefix)
            if (
                grant.source in _APPROVING_GRANTS
                and grant.entitlement_ref.startswith(prefix)
                and key.casefold() in rights
            ):
                found.append(
                    GrantApproval(
                        rights[key.casefold()],
                        str(grant.source),
                        grant.granted_at,
                        grant.expires_at,
                    )
                )
        return found

    def _owner(self, account: PrivilegedAccount) -> dict[str, Any]:
        who = (
            self._person(account.owner_employee_id)
            if account.owner_employee_id
            else None
        )
        return {
            "kind": str(account.owner_kind),
            "service": account.service_name,
            "person": who,
        }

    def _person(self, employee_id: str | None) -> dict[str, Any]:
        person = self.people.get(employee_id or "")
        return {
            "employee_id": employee_id,
            "name": person.display_name if person else None,
            "status": str(person.status) if person else "unknown",
        }


class PrivilegedInventory:
    """Use cases of the inventory. Each method is one transaction."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, policy: Callable[[], Policy]
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy

    # -- reading ----------------------------------------------------------
    def accounts(
        self, *, flagged_only: bool = False, system: str | None = None
    ) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            found = [
                a
                for a in uow.privileged.all()
                if system is None or a.system_key == system
            ]
            views = InventoryViews(uow, self.policy()).many(found)
        return [v for v in views if v["flags"]] if flagged_only else views

    def account(self, account_id: int) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            view = InventoryViews(uow, self.policy()).many([account])[0]
            view["history"] = [
                {
                    "at": r.at.isoformat(),
                    "actor": r.actor,
                    "action": r.action,
                    "after": r.after,
                    "reason": r.reason,
                }
                for r in uow.audit.for_target(target(account))
            ]
            return view

    # -- manual systems ---------------------------------------------------
    def register_manual(
        self, body: ManualAccountCreate, who: Principal
    ) -> dict[str, Any]:
        """An admin account of a system with no API (kind ``manual`` in the
        cloud-service register), with its owner and custodians."""
        with self.uow_factory() as uow:
            system = uow.systems.get(body.system_key)
            if system is None or system.kind != MANUAL_KIND:
                raise InvalidInput(
                    f"{body.system_key!r} is no manual system in the cloud-service "
                    "register; register it there first (kind manual)",
                    field="system_key",
                )
            if uow.privileged.by_name(body.system_key, body.username) is not None:
                raise ConflictError(
                    f"{body.username} in {body.system_key} is already in the inventory",
                    field="username",
                )
            now = uow.clock.now()
            account = PrivilegedAccount(
                system_key=body.system_key,
                username=body.username,
                source=AccountSource.MANUAL,
                description=body.description,
                rights=[dom.Holding(r, "manual").as_dict() for r in body.rights],
                first_seen_at=now,
                last_seen_at=now,
                created_by=who.actor,
                updated_at=now,
            )
            if body.owner is not None:
                _set_owner(uow, account, body.owner)
            uow.privileged.add(account)
            uow.flush()
            for employee_id in dict.fromkeys(body.custodians):
                _add_custodian(uow, account, employee_id, who.actor)
            uow.record(
                who.actor,
                "privileged.registered",
                target(account),
                after={
                    "system": account.system_key,
                    "username": account.username,
                    "rights": list(body.rights),
                    "owner": account.owner_employee_id,
                    "custodians": list(body.custodians),
                },
                reason="manual system (no API)",
            )
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    # -- owner, custodians, approvals ------------------------------------
    def set_owner(
        self, account_id: int, body: OwnerUpdate, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            before = _owner_record(account)
            _set_owner(uow, account, body)
            account.updated_at = uow.clock.now()
            uow.record(
                who.actor,
                "privileged.owner_set",
                target(account),
                before=before,
                after=_owner_record(account),
            )
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    def add_custodian(
        self, account_id: int, body: CustodianChange, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            _add_custodian(uow, account, body.employee_id, who.actor, body.reason)
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    def remove_custodian(
        self, account_id: int, body: CustodianChange, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            if not end_custodianship(
                uow, account, body.employee_id, who.actor, body.reason or "removed"
            ):
                raise NotFoundError(
                    f"{body.employee_id} is no custodian of {account.label()}",
                    field="employee_id",
                )
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    def approve(
        self, account_id: int, body: ApprovalCreate, who: Principal
    ) -> dict[str, Any]:
        """8.2: record the approval that allows this account. Nobody approves
        an account they own or look after (5.3)."""
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            now = uow.clock.now()
            if body.expires_at is not None and body.expires_at <= now:
                raise InvalidInput("expires_at is in the past", field="expires_at")
            custodians = {
                c.employee_id
                for c in uow.privileged.custodians([account_id])
                if c.active
            }
            if who.employee_id and (
                who.employee_id == account.owner_employee_id
                or who.employee_id in custodians
            ):
                raise Forbidden(
                    "you own or look after this account: someone else approves it (5.3)"
                )
            approval = Approval(
                account_id=account_id,
                approver=who.actor,
                approver_employee_id=who.employee_id,
                approved_at=now,
                reason=body.reason,
                authorisation=body.authorisation,
                expires_at=body.expires_at,
            )
            uow.privileged.add(approval)
            uow.flush()
            uow.record(
                who.actor,
                "privileged.approved",
                target(account),
                after=_approval(approval, now),
                reason=body.reason,
            )
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    def revoke_approval(
        self, account_id: int, approval_id: int, who: Principal, reason: str
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            approval = uow.privileged.approval(approval_id)
            if approval is None or approval.account_id != account_id:
                raise NotFoundError(f"no approval {approval_id} of this account")
            if approval.revoked_at is None:
                approval.revoked_at, approval.revoked_by = uow.clock.now(), who.actor
                uow.record(
                    who.actor,
                    "privileged.approval_revoked",
                    target(account),
                    after={"approval": approval_id},
                    reason=reason,
                )
                uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]


class InventoryCustodians:
    """``CustodianLookup`` (services/custodians.py) over the inventory: the
    offboarding case lists one handover item per account (5.18)."""

    def custodianships(self, uow: UnitOfWork, employee_id: str) -> list[Custodianship]:
        found = []
        for c in uow.privileged.custodianships_of(employee_id):
            account = uow.privileged.get(c.account_id)
            if account is not None and account.present:
                found.append(
                    Custodianship(
                        ref=target(account),
                        system_key=account.system_key,
                        account=account.username,
                        description=account.description
                        or ", ".join(h.right for h in account.holdings()),
                    )
                )
        return found


def end_custodianship(
    uow: UnitOfWork, account: PrivilegedAccount, employee_id: str, actor: str, why: str
) -> bool:
    ended = False
    for c in uow.privileged.custodians([account.id or 0]):
        if c.active and c.employee_id == employee_id:
            c.ended_at, c.ended_by, c.end_reason = uow.clock.now(), actor, why
            ended = True
    if ended:
        uow.record(
            actor,
            "privileged.custodian_ended",
            target(account),
            after={"employee_id": employee_id},
            reason=why,
        )
    return ended


def _add_custodian(
    uow: UnitOfWork,
    account: PrivilegedAccount,
    employee_id: str,
    actor: str,
    why: str = "",
) -> None:
    active_person(uow, employee_id, "custodian")
    current = {
        c.employee_id for c in uow.privileged.custodians([account.id or 0]) if c.active
    }
    if employee_id in current:
        return
    uow.privileged.add(
        Custodian(
            account_id=account.id or 0,
            employee_id=employee_id,
            since=uow.clock.now(),
            added_by=actor,
        )
    )
    uow.record(
        actor,
        "privileged.custodian_added",
        target(account),
        after={"employee_id": employee_id},
        reason=why,
    )


def add_custodian(
    uow: UnitOfWork, account: PrivilegedAccount, employee_id: str, actor: str, why: str
) -> None:
    """Make ``employee_id`` a custodian (an active person), in this unit of work."""
    _add_custodian(uow, account, employee_id, actor, why)


def _set_owner(uow: UnitOfWork, account: PrivilegedAccount, body: OwnerUpdate) -> None:
    if uow.persons.by_employee_id(body.employee_id) is None:
        raise NotFoundError(f"no person {body.employee_id}", field="owner")
    account.owner_kind = body.kind
    account.owner_employee_id = body.employee_id
    account.service_name = body.service_name if body.kind is OwnerKind.SERVICE else None


def _owner_record(account: PrivilegedAccount) -> dict[str, Any]:
    return {
        "kind": str(account.owner_kind),
        "employee_id": account.owner_employee_id,
        "service": account.service_name,
    }


def _approval(a: Approval, now: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "source": "approval",
        "approver": a.approver,
        "approved_at": _iso(a.approved_at),
        "reason": a.reason,
        "authorisation": a.authorisation,
        "expires_at": _iso(a.expires_at),
        "revoked_at": _iso(a.revoked_at),
        "in_force": a.in_force(now),
    }


def _grant(g: GrantApproval, now: Any) -> dict[str, Any]:
    return {
        "id": None,
        "source": g.source,  # an approved request, or a time-boxed elevation
        "right": g.right,
        "approved_at": _iso(g.granted_at),
        "expires_at": _iso(g.expires_at),
        "in_force": g.in_force(now),
    }


def _by_account(items: Iterable[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for item in items:
        found.setdefault(item.account_id, []).append(item)
    return found


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
