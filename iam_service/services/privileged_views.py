"""The privileged-account inventory as readers see it, and the lookups the
inventory's use cases share (8.2).

``InventoryViews`` builds each entry's view in one pass over a unit of
work: owner, custodians, approvals (records, and the approved requests or
time-boxed elevations that cover its rights, for their window), flags and
the last rotation. Views never hold a password.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from iam_service.domain import privileged as dom
from iam_service.domain.model import GrantSource, Person, PersonStatus
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    Approval,
    Custodian,
    GrantApproval,
    OwnerKind,
    PrivilegedAccount,
)
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.unit_of_work import UnitOfWork

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
        self.waiting: set[int] = set()  # rotated, waiting for a successor

    def many(self, accounts: Sequence[PrivilegedAccount]) -> list[dict[str, Any]]:
        ids = [a.id or 0 for a in accounts]
        custodians = _by_account(self.uow.privileged.custodians(ids))
        approvals = _by_account(self.uow.privileged.approvals(ids))
        rotated = self.uow.handovers.last_rotated(ids)
        self.waiting = self.uow.handovers.awaiting_recipient(ids)
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
            successor_needed=account.id in self.waiting,
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
            "approvals": [approval_view(a, self.now) for a in approvals]
            + [_grant(g, self.now) for g in grants],
            "flags": [str(f) for f in found],
            "last_rotated_at": last.isoformat() if last else None,
            "first_seen_at": iso(account.first_seen_at),
            "last_seen_at": iso(account.last_seen_at),
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


def approval_view(a: Approval, now: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "source": "approval",
        "approver": a.approver,
        "approved_at": iso(a.approved_at),
        "reason": a.reason,
        "authorisation": a.authorisation,
        "expires_at": iso(a.expires_at),
        "revoked_at": iso(a.revoked_at),
        "in_force": a.in_force(now),
    }


def _grant(g: GrantApproval, now: Any) -> dict[str, Any]:
    return {
        "id": None,
        "source": g.source,  # an approved request, or a time-boxed elevation
        "right": g.right,
        "approved_at": iso(g.granted_at),
        "expires_at": iso(g.expires_at),
        "in_force": g.in_force(now),
    }


def _by_account(items: Iterable[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    for item in items:
        found.setdefault(item.account_id, []).append(item)
    return found


def iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
