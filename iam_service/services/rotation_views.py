"""Handovers and rotations as readers see them (API, console, CLI).

A rotation's state is derived from its operation (queued, verified, dead)
and its own record (shown, confirmed): the operation row is the truth of
what the worker did, so nothing has to copy it. A rotation followed by a
later one of the same account is superseded: its secret was destroyed when
the later password was set. Views carry no secret.
"""

from __future__ import annotations

from typing import Any

from iam_service.domain.operations import OperationStatus
from iam_service.domain.privileged import (
    Handover,
    Rotation,
    RotationKind,
    RotationState,
)
from iam_service.services.unit_of_work import UnitOfWork

SUPERSEDED = "superseded"


def rotation_state(uow: UnitOfWork, rotation: Rotation) -> str:
    """A ``RotationState`` value, or ``superseded``."""
    if rotation.kind is RotationKind.MANUAL:
        if rotation.confirmed_at is not None:
            return RotationState.DONE
        return RotationState.AWAITING_PERSON
    if rotation.shown_at is not None:
        return RotationState.SHOWN
    later = [
        r
        for r in uow.handovers.rotations_of(rotation.account_id)
        if (r.id or 0) > (rotation.id or 0) and r.kind is RotationKind.AUTOMATIC
    ]
    if later:
        return SUPERSEDED
    op = uow.operations.get(rotation.operation_id) if rotation.operation_id else None
    if op is None or op.status in (OperationStatus.PENDING, OperationStatus.RUNNING):
        return RotationState.QUEUED
    if op.status is OperationStatus.SUCCEEDED:
        return RotationState.VERIFIED
    return RotationState.FAILED


def finished(state: str) -> bool:
    """Nothing left to do for this rotation."""
    return state in (RotationState.SHOWN, RotationState.DONE, SUPERSEDED)


def rotation_view(uow: UnitOfWork, rotation: Rotation) -> dict[str, Any]:
    account = uow.privileged.get(rotation.account_id)
    op = uow.operations.get(rotation.operation_id) if rotation.operation_id else None
    state = rotation_state(uow, rotation)
    return {
        "id": rotation.id,
        "kind": str(rotation.kind),
        "state": str(state),
        "account": {
            "id": rotation.account_id,
            "system": account.system_key if account else None,
            "username": account.username if account else None,
        },
        "recipient": rotation.recipient_employee_id,
        "operation": rotation.operation_id,
        "checks": list((op.result or {}).get("checks", [])) if op else [],
        "error": op.last_error if op else None,
        "link_expires_at": _iso(rotation.link_expires_at),
        "shown_at": _iso(rotation.shown_at),
        "confirmed_at": _iso(rotation.confirmed_at),
        # The recipient may open a one-time link now.
        "collectable": state in (RotationState.VERIFIED, RotationState.AWAITING_PERSON)
        and rotation.recipient_employee_id is not None
        and (rotation.kind is RotationKind.MANUAL or rotation.shown_at is None),
    }


def handover_view(uow: UnitOfWork, handover: Handover) -> dict[str, Any]:
    rotations = [
        rotation_view(uow, r) for r in uow.handovers.rotations(handover.id or 0)
    ]
    return {
        "id": handover.id,
        "trigger": str(handover.trigger),
        "status": str(handover.status),
        "outgoing": handover.outgoing_employee_id,
        "successor": handover.successor_employee_id,
        "started_by": handover.started_by,
        "started_at": _iso(handover.started_at),
        "successor_named_at": _iso(handover.successor_named_at),
        "finished_at": _iso(handover.finished_at),
        "cause": handover.cause,
        "rotations": rotations,
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment else None
