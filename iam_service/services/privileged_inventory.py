"""The privileged-account inventory's use cases (8.2): reading it with its
flags, registering manual accounts, owners, custodians and approvals.

Discovery fills the inventory (``privileged_discovery``); handovers and
rotations change passwords (``handover``). Every change here is audited
(target ``privileged:<id>``). Reading it is for the security officer,
system administrators and auditors; the views never hold a password.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iam_service.domain import privileged as dom
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import AccountSource, Approval, PrivilegedAccount
from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    ManualAccountCreate,
    OwnerUpdate,
)
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
)
from iam_service.services.privileged_csv import to_csv
from iam_service.services.privileged_custody import (
    InventoryCustodians,
    add_custodian,
    end_custodianship,
    owner_record,
    set_owner,
)
from iam_service.services.privileged_views import (
    InventoryViews,
    active_person,
    approval_view,
    require_account,
    target,
)
from iam_service.services.unit_of_work import UnitOfWorkFactory

__all__ = [
    "MANUAL_KIND",
    "InventoryCustodians",
    "InventoryViews",
    "PrivilegedInventory",
    "active_person",
    "add_custodian",
    "end_custodianship",
    "require_account",
    "target",
]

MANUAL_KIND = "manual"


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

    def export_csv(self) -> bytes:
        """The inventory for the ISMS records (UTF-8 with BOM, stable columns)."""
        return to_csv(self.accounts())

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
                set_owner(uow, account, body.owner)
            uow.privileged.add(account)
            uow.flush()
            for employee_id in dict.fromkeys(body.custodians):
                add_custodian(uow, account, employee_id, who.actor, "registered")
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
            before = owner_record(account)
            set_owner(uow, account, body)
            account.updated_at = uow.clock.now()
            uow.record(
                who.actor,
                "privileged.owner_set",
                target(account),
                before=before,
                after=owner_record(account),
            )
            uow.commit()
            return InventoryViews(uow, self.policy()).many([account])[0]

    def add_custodian(
        self, account_id: int, body: CustodianChange, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            add_custodian(uow, account, body.employee_id, who.actor, body.reason)
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
                after=approval_view(approval, now),
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
