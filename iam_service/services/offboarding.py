"""Opening and cancelling offboarding cases: the hooks the lifecycle calls.

``open_case`` runs inside the termination's own transaction
(``lifecycle.terminate``), so a termination never exists without its case
and a case never without its termination, whatever crashes when (5.18 with
5.11). ``after_rehire`` runs inside the rehire's transaction. Everything
else about cases (progress, closing, escalation, deletion, reports) lives in
``offboarding_cases``, ``offboarding_jobs`` and ``offboarding_reports``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iam_service.domain.assets import AssetType
from iam_service.domain.model import AccountStatus, Person
from iam_service.domain.offboarding import (
    UNRESOLVED,
    CaseItem,
    CaseStatus,
    ItemKind,
    OffboardingCase,
    OffboardingPolicy,
)
from iam_service.domain.offboarding_progress import (
    AccountProgress,
)
from iam_service.domain.operations import OperationKind, OperationStatus
from iam_service.services.custodians import CustodianLookup
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork

_UNFINISHED = (OperationStatus.PENDING, OperationStatus.RUNNING, OperationStatus.DEAD)


def case_target(case: OffboardingCase) -> str:
    return f"offboarding_case:{case.id}"


def deletion_cause(case: OffboardingCase) -> str:
    return f"offboarding:{case.id}:delete"


def open_case(
    uow: UnitOfWork,
    person: Person,
    *,
    actor: str,
    cause: str,
    terminated_at: datetime,
    policy: OffboardingPolicy,
    custodians: CustodianLookup,
) -> OffboardingCase:
    """Open the case of this termination with its checklist; the same
    ``cause`` again returns the case opened before."""
    existing = uow.offboarding.by_cause(cause)
    if existing is not None:
        return existing
    if person.id is None:
        raise RuntimeError("flush the person before opening a case")
    case = OffboardingCase(
        person_id=person.id,
        employee_id=person.employee_id,
        person_name=person.display_name,
        department_code=person.department_code,
        manager_employee_id=person.manager_employee_id,
        cause=cause,
        terminated_at=terminated_at,
        opened_at=uow.clock.now(),
        opened_by=actor,
    )
    uow.offboarding.add(case)
    uow.flush()
    items = _checklist(uow, case, person, policy, custodians)
    for item in items:
        uow.offboarding.add_item(item)
    uow.record(
        actor,
        "offboarding.case_opened",
        case_target(case),
        after={
            "employee_id": person.employee_id,
            "terminated_at": terminated_at.isoformat(),
            "items": [f"{i.kind}: {i.title}" for i in items],
        },
        reason=cause,
    )
    return case


def _checklist(
    uow: UnitOfWork,
    case: OffboardingCase,
    person: Person,
    policy: OffboardingPolicy,
    custodians: CustodianLookup,
) -> list[CaseItem]:
    case_id = case.id or 0
    items: list[CaseItem] = []
    for asset in uow.assets.held_by(case.person_id):  # 5.11: everything held
        items.append(
            CaseItem(case_id, ItemKind.ASSET_RETURN, asset.label, asset_id=asset.id)
        )
        if asset.asset_type is AssetType.SECURITY_CARD:  # 7.2
            items.append(
                CaseItem(
                    case_id,
                    ItemKind.CARD_DEACTIVATION,
                    f"Deactivate security card {asset.card_number} ({asset.tag}) "
                    f"in {policy.entry_system}",
                    asset_id=asset.id,
                )
            )
    for c in custodians.custodianships(uow, person.employee_id):  # 5.18
        what = f" ({c.description})" if c.description else ""
        items.append(
            CaseItem(
                case_id,
                ItemKind.CUSTODIAN_HANDOVER,
                f"Hand over custodianship of {c.account} in {c.system_key}{what} "
                "and change its admin password",
                system_key=c.system_key,
                reference=c.ref,
            )
        )
    for account in uow.accounts.for_person(case.person_id):
        if account.status is not AccountStatus.DELETED:
            items.append(
                CaseItem(
                    case_id,
                    ItemKind.DATA_HANDOVER,
                    f"Mailbox and files of {account.username} in "
                    f"{account.system_key}: move to the manager or archive",
                    system_key=account.system_key,
                )
            )
    return items


def account_progress(uow: UnitOfWork, case: OffboardingCase) -> list[AccountProgress]:
    """Each account of the person, as last verified by read-back, with the
    leaver steps of this termination not yet done (queued or failed)."""
    ops = [
        op
        for op in uow.operations.for_person(case.person_id, _UNFINISHED)
        if op.cause == case.cause
    ]
    progress = []
    for account in uow.accounts.for_person(case.person_id):
        mine = [op for op in ops if op.account_id == account.id]
        progress.append(
            AccountProgress(
                system_key=account.system_key,
                username=account.username,
                status=account.status,
                verified_at=account.verified_at,
                unfinished_steps=sum(
                    o.status is not OperationStatus.DEAD for o in mine
                ),
                failed_steps=sum(o.status is OperationStatus.DEAD for o in mine),
            )
        )
    return progress


def all_disabled_at(
    uow: UnitOfWork, case: OffboardingCase, accounts: list[AccountProgress]
) -> datetime | None:
    """When every account was verified disabled (the last disable's read-back),
    or None while one is not."""
    if case.all_disabled_at is not None:
        return case.all_disabled_at
    if not all(a.disabled_verified for a in accounts):
        return None
    done = [
        op.finished_at
        for op in uow.operations.for_person(
            case.person_id, (OperationStatus.SUCCEEDED,)
        )
        if op.cause == case.cause
        and op.kind is OperationKind.DISABLE_ACCOUNT
        and op.finished_at is not None
    ]
    if done:
        return max(done)
    verified = [a.verified_at for a in accounts if a.verified_at is not None]
    return max(verified) if verified else case.opened_at


def after_rehire(
    uow: UnitOfWork, person: Person, restorer: Provisioner, *, actor: str, cause: str
) -> None:
    """5.16: a rehire before deletion brings back the same identity and
    accounts. An open case is cancelled (its items with it); a closed case's
    pending deletion is called off; then the surviving accounts are queued
    to come back (``Provisioner.restore``)."""
    now = uow.clock.now()
    if person.id is None:
        raise RuntimeError("flush the person first")
    for case in uow.offboarding.for_person(person.id):
        if case.status is CaseStatus.OPEN:
            _cancel_open(uow, case, actor, cause, now)
        elif (
            case.status is CaseStatus.CLOSED
            and case.cancelled_at is None
            and case.accounts_deleted_at is None
        ):
            _call_off_deletion(uow, case, actor, cause, now)
    restorer.restore(person)


def _cancel_open(
    uow: UnitOfWork, case: OffboardingCase, actor: str, cause: str, now: datetime
) -> None:
    items = uow.offboarding.items(case.id or 0)
    open_items = [i for i in items if i.status in UNRESOLVED]
    for item in open_items:
        item.cancel(actor, now, "rehired before the case closed")
    case.cancel(now, f"rehired ({cause})")
    uow.record(
        actor,
        "offboarding.case_cancelled",
        case_target(case),
        after={
            "employee_id": case.employee_id,
            "cancelled_items": [f"{i.kind}: {i.title}" for i in open_items],
        },
        reason=f"{cause}: rehired before the case closed",
    )


def _call_off_deletion(
    uow: UnitOfWork, case: OffboardingCase, actor: str, cause: str, now: datetime
) -> None:
    cancelled: list[dict[str, Any]] = []
    for op in uow.operations.for_person(case.person_id, (OperationStatus.PENDING,)):
        if op.cause == deletion_cause(case):
            op.status, op.finished_at, op.updated_at = (
                OperationStatus.CANCELLED,
                now,
                now,
            )
            cancelled.append({"operation": op.id, "system": op.system_key})
    case.cancel(now, f"rehired ({cause})")
    uow.record(
        actor,
        "offboarding.deletion_cancelled",
        case_target(case),
        after={"employee_id": case.employee_id, "cancelled_operations": cancelled},
        reason=f"{cause}: rehired before the accounts were deleted",
    )
