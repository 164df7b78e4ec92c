"""Writing the asset register: registering an asset, handing it out and
taking it back with the holder history, uniqueness checks, and the read
model. Shared by the register's use cases, the CSV import and the
offboarding case; nothing here commits (the caller's unit of work does)."""

from __future__ import annotations

from typing import Any

from iam_service.domain.assets import (
    Asset,
    AssetAssignment,
    AssetCondition,
    AssetCreate,
    AssetState,
    AssignmentEnd,
    normalise_key,
)
from iam_service.domain.model import Person, PersonStatus
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.unit_of_work import UnitOfWork


def asset_target(asset: Asset) -> str:
    return f"asset:{asset.tag}"


def add_asset(uow: UnitOfWork, body: AssetCreate, actor: str) -> Asset:
    """Register one asset (and its first holder) in ``uow``."""
    unique(uow, tag=body.tag, serial=body.serial, card=body.card_number, not_id=None)
    holder = (
        active_person(uow, body.holder_employee_id) if body.holder_employee_id else None
    )
    now = uow.clock.now()
    asset = Asset(
        asset_type=body.asset_type,
        tag=normalise_key(body.tag),
        description=body.description,
        serial=normalise_key(body.serial) if body.serial else None,
        card_number=body.card_number,
        state=AssetState.SPARE if holder else (body.state or AssetState.SPARE),
        note=body.note,
        registered_at=now,
        registered_by=actor,
        updated_at=now,
    )
    uow.assets.add(asset)
    uow.flush()
    uow.record(actor, "asset.registered", asset_target(asset), after=asset.snapshot())
    if holder is not None:
        hand_out(uow, asset, holder, actor, "registered with this holder")
    return asset


def take_back(
    uow: UnitOfWork,
    asset: Asset,
    actor: str,
    outcome: AssignmentEnd,
    condition: AssetCondition | None,
    received_by: str | None,
    note: str,
) -> None:
    """End the current holder's assignment: returned, lost or written off."""
    state = {
        AssignmentEnd.RETURNED: AssetState.RETURNED,
        AssignmentEnd.LOST: AssetState.LOST,
        AssignmentEnd.WRITTEN_OFF: AssetState.DISPOSED,
    }[outcome]
    now = uow.clock.now()
    before = asset.snapshot()
    holder = uow.persons.get(asset.holder_id) if asset.holder_id else None
    assignment = uow.assets.current_assignment(asset.id or 0)
    if assignment is not None:
        assignment.ended_at, assignment.ended_by = now, actor
        assignment.outcome, assignment.condition = outcome, condition
        assignment.received_by, assignment.note = received_by, note
    asset.move_to(state)
    asset.updated_at = now
    uow.record(
        actor,
        f"asset.{outcome}",
        asset_target(asset),
        before=before | {"holder": holder.employee_id if holder else None},
        after=asset.snapshot()
        | {
            "condition": str(condition) if condition else None,
            "received_by": received_by,
        },
        reason=note,
    )


def hand_out(
    uow: UnitOfWork, asset: Asset, person: Person, actor: str, note: str
) -> None:
    now = uow.clock.now()
    before = asset.snapshot()
    asset.move_to(AssetState.IN_USE)
    asset.holder_id, asset.updated_at = person.id, now
    uow.assets.add_assignment(
        AssetAssignment(
            asset_id=asset.id or 0,
            person_id=person.id or 0,
            assigned_at=now,
            assigned_by=actor,
            note=note,
        )
    )
    uow.record(
        actor,
        "asset.assigned",
        asset_target(asset),
        before=before,
        after=asset.snapshot() | {"holder": person.employee_id},
        reason=note,
    )


def unique(
    uow: UnitOfWork,
    *,
    tag: str | None,
    serial: str | None,
    card: str | None,
    not_id: int | None,
) -> None:
    checks = (
        ("tag", tag, uow.assets.by_tag),
        ("serial", serial, uow.assets.by_serial),
        ("card_number", card, uow.assets.by_card_number),
    )
    for name, value, lookup in checks:
        if value is None:
            continue
        found = lookup(value)
        if found is not None and found.id != not_id:
            label = name.replace("_", " ")
            shown = value if name == "card_number" else normalise_key(value)
            raise ConflictError(
                f"{label} {shown} is already registered (asset {found.tag})",
                field=name,
            )


def find_asset(uow: UnitOfWork, tag: str, *, lock: bool = False) -> Asset:
    asset = uow.assets.by_tag(tag, lock=lock)
    if asset is None:
        raise NotFoundError(f"no asset with tag {tag}")
    return asset


def find_person(uow: UnitOfWork, employee_id: str) -> Person:
    person = uow.persons.by_employee_id(employee_id)
    if person is None:
        raise NotFoundError(f"no person with employee id {employee_id}")
    return person


def active_person(uow: UnitOfWork, employee_id: str) -> Person:
    person = find_person(uow, employee_id)
    if person.status is PersonStatus.TERMINATED:
        raise ConflictError(
            f"{employee_id} is terminated; assets are not handed to leavers",
            field="holder_employee_id",
        )
    return person


def asset_view(uow: UnitOfWork, asset: Asset) -> dict[str, Any]:
    holder = uow.persons.get(asset.holder_id) if asset.holder_id else None
    return {
        "tag": asset.tag,
        "type": str(asset.asset_type),
        "serial": asset.serial,
        "card_number": asset.card_number,
        "description": asset.description,
        "state": str(asset.state),
        "holder": {
            "employee_id": holder.employee_id,
            "name": holder.display_name,
            "department": holder.department_code,
            "status": str(holder.status),
        }
        if holder
        else None,
        "note": asset.note,
        "registered_at": asset.registered_at.isoformat()
        if asset.registered_at
        else None,
        "updated_at": asset.updated_at.isoformat() if asset.updated_at else None,
    }
