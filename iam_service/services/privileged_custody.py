"""Owners and custodians of privileged accounts, and the custodian lookup
the offboarding case uses (5.18: one handover item per account a leaver
looks after). Each function writes in the caller's unit of work and audits
(target ``privileged:<id>``); none commits.
"""

from __future__ import annotations

from typing import Any

from iam_service.domain.privileged import Custodian, OwnerKind, PrivilegedAccount
from iam_service.domain.privileged_requests import OwnerUpdate
from iam_service.services.custodians import Custodianship
from iam_service.services.errors import NotFoundError
from iam_service.services.privileged_views import active_person, target
from iam_service.services.unit_of_work import UnitOfWork


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


def _add(
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
    _add(uow, account, employee_id, actor, why)


def set_owner(uow: UnitOfWork, account: PrivilegedAccount, body: OwnerUpdate) -> None:
    if uow.persons.by_employee_id(body.employee_id) is None:
        raise NotFoundError(f"no person {body.employee_id}", field="owner")
    account.owner_kind = body.kind
    account.owner_employee_id = body.employee_id
    account.service_name = body.service_name if body.kind is OwnerKind.SERVICE else None


def owner_record(account: PrivilegedAccount) -> dict[str, Any]:
    return {
        "kind": str(account.owner_kind),
        "employee_id": account.owner_employee_id,
        "service": account.service_name,
    }
