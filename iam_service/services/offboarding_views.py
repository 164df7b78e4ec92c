"""Read models of offboarding cases for the API, the console and the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iam_service.domain.offboarding import (
    CaseItem,
    OffboardingCase,
)
from iam_service.domain.offboarding_progress import (
    AccountProgress,
    outstanding_for_close,
)
from iam_service.domain.operations import OperationStatus
from iam_service.services.offboarding import account_progress, all_disabled_at
from iam_service.services.unit_of_work import UnitOfWork


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_summary(uow: UnitOfWork, case: OffboardingCase) -> dict[str, Any]:
    accounts = account_progress(uow, case)
    items = uow.offboarding.items(case.id or 0)
    outstanding = outstanding_for_close(items, accounts)
    now = uow.clock.now()
    return {
        "id": case.id,
        "employee_id": case.employee_id,
        "name": case.person_name,
        "department": case.department_code,
        "status": str(case.status),
        "terminated_at": case.terminated_at.isoformat(),
        "opened_at": case.opened_at.isoformat(),
        "age_days": case.age_days(case.closed_at or case.cancelled_at or now),
        "all_disabled_at": _iso(all_disabled_at(uow, case, accounts)),
        "closed_at": _iso(case.closed_at),
        "outstanding": len(outstanding),
        "assets_outstanding": sum(
            1 for i in items if i.kind == "asset_return" and i.blocks_closing
        ),
    }


def case_detail(uow: UnitOfWork, case: OffboardingCase) -> dict[str, Any]:
    accounts = account_progress(uow, case)
    items = uow.offboarding.items(case.id or 0)
    outstanding = outstanding_for_close(items, accounts)
    return case_summary(uow, case) | {
        "manager_employee_id": case.manager_employee_id,
        "cause": case.cause,
        "opened_by": case.opened_by,
        "closed_by": case.closed_by,
        "close_note": case.close_note,
        "deletion": {
            "due_at": _iso(case.deletion_due_at),
            "queued_at": _iso(case.deletion_queued_at),
            "accounts_deleted_at": _iso(case.accounts_deleted_at),
            "held_at": _iso(case.deletion_held_at),
            "cancelled_at": _iso(case.cancelled_at),
            "cancel_reason": case.cancel_reason,
            "waiting_for_handover": [i.id for i in items if i.blocks_deletion],
        },
        "accounts": _accounts(uow, case, accounts),
        "items": [item_view(uow, i) for i in items],
        "outstanding": [o.as_dict() for o in outstanding],
        "can_close": case.status == "open" and not outstanding,
        "escalations": [
            {
                "level": int(e.level),
                "at": e.at.isoformat(),
                "recipients": list(e.recipients),
                "note": e.note,
            }
            for e in uow.offboarding.escalations(case.id or 0)
        ],
    }


def _accounts(
    uow: UnitOfWork, case: OffboardingCase, progress: list[AccountProgress]
) -> list[dict[str, Any]]:
    """Each account's state as the worker last verified it by read-back."""
    errors = {
        op.system_key: op.last_error
        for op in uow.operations.for_person(case.person_id, (OperationStatus.DEAD,))
        if op.cause == case.cause
    }
    accounts = {a.system_key: a for a in uow.accounts.for_person(case.person_id)}
    views = []
    for p in progress:
        account = accounts[p.system_key]
        views.append(
            {
                "system": p.system_key,
                "username": p.username,
                "native_id": account.native_id,
                "state": str(p.status),
                "verified_at": _iso(p.verified_at),
                "disabled_verified": p.disabled_verified,
                "unfinished_steps": p.unfinished_steps,
                "failed_steps": p.failed_steps,
                "last_error": errors.get(p.system_key),
            }
        )
    return views


def item_view(uow: UnitOfWork, item: CaseItem) -> dict[str, Any]:
    asset = uow.assets.get(item.asset_id) if item.asset_id else None
    return {
        "id": item.id,
        "kind": str(item.kind),
        "title": item.title,
        "status": str(item.status),
        "resolution": str(item.resolution) if item.resolution else None,
        "asset": {
            "tag": asset.tag,
            "type": str(asset.asset_type),
            "state": str(asset.state),
            "card_number": asset.card_number,
            "description": asset.description,
        }
        if asset
        else None,
        "system": item.system_key,
        "reference": item.reference,
        "condition": str(item.condition) if item.condition else None,
        "received_by": item.received_by,
        "write_off": {
            "kind": str(item.write_off_kind) if item.write_off_kind else None,
            "reason": item.reason,
            "requested_by": item.requested_by,
            "requested_at": _iso(item.requested_at),
            "decided_by": item.decided_by,
            "decided_at": _iso(item.decided_at),
        }
        if item.requested_by
        else None,
        "reason": item.reason,
        "note": item.note,
        "done_by": item.done_by,
        "done_at": _iso(item.done_at),
    }
