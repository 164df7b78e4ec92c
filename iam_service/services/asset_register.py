"""The asset register's use cases (5.9, 7.2, 7.10).

Contract (one transaction each; a refusal raises a ``ServiceError`` and
writes nothing):

* ``create``: a new asset. A tag, serial or card number already registered
  is 409 naming the field; an unknown holder is 404, a terminated one 409.
* ``assign``: a spare or returned asset goes to an active person.
* ``return_asset``: the holder gives it back (condition, who received it).
  Naming someone who does not hold it is 409. If the holder has an open
  offboarding case, its item is ticked off in the same transaction.
* ``change_state``: stock moves (spare, returned, lost, disposed) for
  assets nobody holds; an asset in use leaves only by return or by an
  approved write-off in its offboarding case.

Every change is audited (target ``asset:<tag>``) and the holder history
(``asset_assignments``) is kept for good.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from iam_service.domain.assets import (
    Asset,
    AssetAssignment,
    AssetCondition,
    AssetCreate,
    AssetRuleError,
    AssetState,
    AssetType,
    AssetUpdate,
    AssignmentEnd,
    normalise_key,
)
from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.offboarding import CaseRuleError
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class AssetReturn(BaseModel):
    """An asset handed back by ``employee_id``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN)
    condition: AssetCondition
    received_by: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)


class AssetMove(BaseModel):
    """A stock move of an asset nobody holds, with why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    state: AssetState
    reason: str = Field(min_length=1, max_length=1000)


def asset_target(asset: Asset) -> str:
    return f"asset:{asset.tag}"


class AssetRegister:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    # -- reading ------------------------------------------------------------
    def find(
        self,
        *,
        asset_type: AssetType | None = None,
        state: AssetState | None = None,
        holder: str | None = None,
        limit: int = 500,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            holder_id = None
            if holder is not None:
                holder_id = _person(uow, holder).id
            found = uow.assets.find(
                asset_type=asset_type,
                states=[state] if state else None,
                holder_id=holder_id,
                limit=limit,
                offset=offset,
            )
            return [asset_view(uow, a) for a in found]

    def detail(self, tag: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = _asset(uow, tag)
            history = []
            for h in uow.assets.history(asset.id or 0):
                person = uow.persons.get(h.person_id)
                history.append(
                    {
                        "employee_id": person.employee_id if person else None,
                        "name": person.display_name if person else None,
                        "assigned_at": h.assigned_at.isoformat(),
                        "assigned_by": h.assigned_by,
                        "ended_at": h.ended_at.isoformat() if h.ended_at else None,
                        "ended_by": h.ended_by,
                        "outcome": str(h.outcome) if h.outcome else None,
                        "condition": str(h.condition) if h.condition else None,
                        "received_by": h.received_by,
                        "note": h.note,
                    }
                )
            return asset_view(uow, asset) | {"history": history}

    # -- changing -----------------------------------------------------------
    def create(self, body: AssetCreate, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = add_asset(uow, body, actor)
            uow.commit()
            return asset_view(uow, asset)

    def update(self, tag: str, body: AssetUpdate, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = _asset(uow, tag, lock=True)
            before = asset.snapshot()
            if body.card_number is not None and (
                asset.asset_type.value != "security_card"
            ):
                raise ConflictError("only a security card has a card number")
            if body.serial is not None:
                _unique(uow, serial=body.serial, tag=None, card=None, not_id=asset.id)
                asset.serial = normalise_key(body.serial)
            if body.card_number is not None:
                _unique(
                    uow, serial=None, tag=None, card=body.card_number, not_id=asset.id
                )
                asset.card_number = body.card_number
            for name in ("description", "note"):
                value = getattr(body, name)
                if value is not None:
                    setattr(asset, name, value)
            asset.updated_at = uow.clock.now()
            uow.record(
                actor,
                "asset.updated",
                asset_target(asset),
                before=before,
                after=asset.snapshot(),
            )
            uow.commit()
            return asset_view(uow, asset)

    def assign(
        self, tag: str, employee_id: str, actor: str, note: str = ""
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = _asset(uow, tag, lock=True)
            person = _active_person(uow, employee_id)
            if asset.state not in (AssetState.SPARE, AssetState.RETURNED):
                raise ConflictError(
                    f"asset {asset.tag} is {asset.state}; only a spare or returned "
                    "asset can be assigned"
                )
            _hand_out(uow, asset, person, actor, note)
            uow.commit()
            return asset_view(uow, asset)

    def return_asset(self, tag: str, body: AssetReturn, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = _asset(uow, tag, lock=True)
            person = _person(uow, body.employee_id)
            if asset.state is not AssetState.IN_USE or asset.holder_id != person.id:
                raise ConflictError(
                    f"{person.display_name} ({person.employee_id}) does not hold "
                    f"asset {asset.tag}; nothing was recorded",
                    field="employee_id",
                )
            item = uow.offboarding.open_asset_item(asset.id or 0)
            if item is not None:  # the offboarding case learns it at once
                try:
                    item.mark_returned(
                        body.condition, body.received_by, actor, uow.clock.now()
                    )
                except CaseRuleError as error:
                    raise ConflictError(str(error)) from None
            take_back(
                uow,
                asset,
                actor,
                AssignmentEnd.RETURNED,
                body.condition,
                body.received_by,
                body.note,
            )
            uow.commit()
            return asset_view(uow, asset)

    def change_state(self, tag: str, body: AssetMove, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = _asset(uow, tag, lock=True)
            if asset.state is AssetState.IN_USE or body.state is AssetState.IN_USE:
                raise ConflictError(
                    f"asset {asset.tag}: an asset in use is returned, or written "
                    "off in its holder's offboarding case; use assign to hand one out"
                )
            before = asset.snapshot()
            try:
                asset.move_to(body.state)
            except AssetRuleError as error:
                raise ConflictError(str(error)) from None
            asset.updated_at = uow.clock.now()
            uow.record(
                actor,
                f"asset.{body.state}",
                asset_target(asset),
                before=before,
                after=asset.snapshot(),
                reason=body.reason,
            )
            uow.commit()
            return asset_view(uow, asset)


# -- shared with the CSV import and the offboarding case --------------------
def add_asset(uow: UnitOfWork, body: AssetCreate, actor: str) -> Asset:
    """Register one asset (and its first holder) in ``uow``."""
    _unique(uow, tag=body.tag, serial=body.serial, card=body.card_number, not_id=None)
    holder = (
        _active_person(uow, body.holder_employee_id)
        if body.holder_employee_id
        else None
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
        _hand_out(uow, asset, holder, actor, "registered with this holder")
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


def _hand_out(
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


def _unique(
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


def _asset(uow: UnitOfWork, tag: str, *, lock: bool = False) -> Asset:
    asset = uow.assets.by_tag(tag, lock=lock)
    if asset is None:
        raise NotFoundError(f"no asset with tag {tag}")
    return asset


def _person(uow: UnitOfWork, employee_id: str) -> Person:
    person = uow.persons.by_employee_id(employee_id)
    if person is None:
        raise NotFoundError(f"no person with employee id {employee_id}")
    return person


def _active_person(uow: UnitOfWork, employee_id: str) -> Person:
    person = _person(uow, employee_id)
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
