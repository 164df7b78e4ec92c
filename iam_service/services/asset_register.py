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
from iam_service.domain.offboarding import CaseRuleError
from iam_service.services.asset_records import (
    active_person,
    add_asset,
    asset_target,
    asset_view,
    find_asset,
    find_person,
    hand_out,
    take_back,
    unique,
)
from iam_service.services.errors import ConflictError
from iam_service.services.unit_of_work import UnitOfWorkFactory


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
                holder_id = find_person(uow, holder).id
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
            asset = find_asset(uow, tag)
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
            asset = find_asset(uow, tag, lock=True)
            before = asset.snapshot()
            if body.card_number is not None and (
                asset.asset_type.value != "security_card"
            ):
                raise ConflictError("only a security card has a card number")
            if body.serial is not None:
                unique(uow, serial=body.serial, tag=None, card=None, not_id=asset.id)
                asset.serial = normalise_key(body.serial)
            if body.card_number is not None:
                unique(
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
            asset = find_asset(uow, tag, lock=True)
            person = active_person(uow, employee_id)
            if asset.state not in (AssetState.SPARE, AssetState.RETURNED):
                raise ConflictError(
                    f"asset {asset.tag} is {asset.state}; only a spare or returned "
                    "asset can be assigned"
                )
            hand_out(uow, asset, person, actor, note)
            uow.commit()
            return asset_view(uow, asset)

    def return_asset(self, tag: str, body: AssetReturn, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            asset = find_asset(uow, tag, lock=True)
            person = find_person(uow, body.employee_id)
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
            asset = find_asset(uow, tag, lock=True)
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
