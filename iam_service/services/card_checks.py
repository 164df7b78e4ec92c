"""7.2: the periodic check of the spare security cards.

The scheduler's ``open_spare_card_check`` job opens a check every
``offboarding.spare_card_check_every_days`` (policy) when none is open: a
record listing the cards that are spare at that moment, and a notice for
the system administrators. An administrator completes it by accounting for
every listed card as present or missing; a missing card becomes ``lost``
and the security officer gets a notice to have it blocked in the entry
system. Nothing is due again until the period has passed since the last
check was opened.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from iam_service.domain.assets import (
    AssetRuleError,
    AssetState,
    AssetType,
    CheckStatus,
    SpareCardCheck,
    normalise_key,
)
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.errors import ConflictError, InvalidInput, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

NOTICE_KIND = "spare_card_check"


class CheckResult(BaseModel):
    """Every card of the check, as present or missing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    present: list[str] = Field(default_factory=list, max_length=10_000)
    missing: list[str] = Field(default_factory=list, max_length=10_000)
    note: str = Field(default="", max_length=2000)


def _target(check: SpareCardCheck) -> str:
    return f"spare_card_check:{check.id}"


def open_spare_card_check(uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> int:
    """The scheduler's job: open a check when one is due; 1 if it opened one."""
    every = timedelta(days=ctx.policy().offboarding.spare_card_check_every_days)
    with uow_factory() as uow:
        now = uow.clock.now()
        latest = uow.assets.latest_check()
        if latest is not None and (
            latest.status is CheckStatus.OPEN or latest.opened_at + every > now
        ):
            return 0
        spares = uow.assets.find(
            asset_type=AssetType.SECURITY_CARD,
            states=[AssetState.SPARE],
            limit=100_000,
        )
        check = SpareCardCheck(opened_at=now, expected=[a.tag for a in spares])
        uow.assets.add_check(check)
        uow.flush()
        uow.notices.add(
            Notice(
                kind=NOTICE_KIND,
                subject=_target(check),
                detail=(
                    f"7.2: confirm the {len(spares)} spare security card(s) "
                    f"({', '.join(check.expected) or 'none registered'}): mark "
                    "each present or missing in spare-card check "
                    f"#{check.id}."
                ),
                audience=Role.SYSADMIN,
                created_at=now,
            )
        )
        uow.record(
            "scheduler",
            "asset.spare_card_check_opened",
            _target(check),
            after={"expected": check.expected},
            reason="7.2 periodic check",
        )
        uow.commit()
        return 1


class CardChecks:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    def all(self) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [check_view(c) for c in uow.assets.checks()]

    def complete(self, check_id: int, body: CheckResult, actor: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            check = uow.assets.get_check(check_id)
            if check is None:
                raise NotFoundError(f"no spare-card check {check_id}")
            now = uow.clock.now()
            present = {normalise_key(t) for t in body.present}
            missing = {normalise_key(t) for t in body.missing}
            try:
                check.complete(present, missing, actor, now)
            except AssetRuleError as error:
                if check.status is CheckStatus.COMPLETED:
                    raise ConflictError(str(error)) from None
                raise InvalidInput(str(error), field="present") from None
            check.note = body.note
            for tag in sorted(missing):
                _lost(uow, tag, check, actor)
            for notice in uow.notices.open(Role.SYSADMIN):
                if notice.kind == NOTICE_KIND and notice.subject == _target(check):
                    notice.resolved_at, notice.resolved_by = now, actor
            uow.record(
                actor,
                "asset.spare_card_check_completed",
                _target(check),
                after={"present": check.present, "missing": check.missing},
                reason=body.note,
            )
            uow.commit()
            return check_view(check)


def _lost(uow: UnitOfWork, tag: str, check: SpareCardCheck, actor: str) -> None:
    asset = uow.assets.by_tag(tag, lock=True)
    if asset is None or asset.state is not AssetState.SPARE:
        return  # handed out or registered otherwise since the check opened
    before = asset.snapshot()
    asset.move_to(AssetState.LOST)
    asset.updated_at = uow.clock.now()
    uow.record(
        actor,
        "asset.lost",
        f"asset:{asset.tag}",
        before=before,
        after=asset.snapshot(),
        reason=f"missing in spare-card check #{check.id} (7.2)",
    )
    uow.notices.add(
        Notice(
            kind="security_card_missing",
            subject=f"asset:{asset.tag}",
            detail=(
                f"Spare security card {asset.card_number} ({asset.tag}) was "
                f"missing in check #{check.id}: block it in the entry system (7.2)."
            ),
            audience=Role.SECURITY_OFFICER,
            created_at=uow.clock.now(),
        )
    )


def check_view(check: SpareCardCheck) -> dict[str, Any]:
    return {
        "id": check.id,
        "status": str(check.status),
        "opened_at": check.opened_at.isoformat(),
        "expected": list(check.expected),
        "present": check.present,
        "missing": check.missing,
        "completed_at": check.completed_at.isoformat() if check.completed_at else None,
        "completed_by": check.completed_by,
        "note": check.note,
    }
