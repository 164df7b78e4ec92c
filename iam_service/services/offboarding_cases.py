"""Working an offboarding case to its close (5.11, 5.18, 7.2).

Contract of each use case (one transaction; a refusal raises a
``ServiceError`` and writes nothing):

* ``return_asset``: HR or an administrator records that the leaver gave an
  asset back (condition, who received it). An asset the leaver does not
  hold, or one not on this case, is 409.
* ``request_write_off``: an asset that will not come back is written off
  as lost or written off with a reason (422 without one); it waits for
  ``decide_write_off`` by the security officer, who may be neither the
  requester nor the leaver (403, 5.3). Until approved it stays outstanding.
* ``complete_item``: a task is done (card deactivated in the entry system,
  custodianship handed over, data moved to the manager or archived).
  ``waive_item``: a data handover is waived with a reason.
* ``close``: only with nothing outstanding: every account verified
  disabled by read-back and every asset returned or written off, every task
  done. Otherwise 409 with the outstanding items in ``error.details``.

Every step is audited (target ``offboarding_case:<id>``).
"""

from __future__ import annotations

from typing import Any

from iam_service.domain.assets import AssetState, AssignmentEnd
from iam_service.domain.offboarding import (
    ApprovalRefused,
    CaseItem,
    CaseRuleError,
    CaseStatus,
    Decider,
    ItemKind,
    ItemStatus,
    OffboardingCase,
    WriteOffKind,
)
from iam_service.domain.offboarding_progress import (
    outstanding_for_close,
)
from iam_service.services.asset_records import take_back
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, Forbidden, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.offboarding import (
    account_progress,
    all_disabled_at,
    case_target,
)
from iam_service.services.offboarding_bodies import (
    CloseBody,
    CompleteBody,
    ReturnBody,
    WaiveBody,
    WriteOffBody,
)
from iam_service.services.offboarding_views import case_detail, case_summary
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class CaseOutstanding(ConflictError):
    code = "case_outstanding"


class OffboardingCases:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    # -- reading ------------------------------------------------------------
    def find(
        self,
        *,
        status: CaseStatus | None = None,
        department: str | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            cases = uow.offboarding.find(
                status=status, department=department, limit=limit, offset=offset
            )
            return [case_summary(uow, c) for c in cases]

    def get(self, case_id: int) -> dict[str, Any]:
        with self.uow_factory() as uow:
            return case_detail(uow, _case(uow, case_id))

    def for_person(self, employee_id: str) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(employee_id)
            if person is None or person.id is None:
                raise NotFoundError(f"no person with employee id {employee_id}")
            return [case_summary(uow, c) for c in uow.offboarding.for_person(person.id)]

    def write_offs_waiting(self) -> list[dict[str, Any]]:
        """Write-offs waiting for the security officer, oldest first."""
        with self.uow_factory() as uow:
            found = []
            for item in uow.offboarding.items_in_open_cases(
                ItemStatus.WRITE_OFF_REQUESTED
            ):
                case = _case(uow, item.case_id)
                found.append(
                    {
                        "case_id": case.id,
                        "employee_id": case.employee_id,
                        "name": case.person_name,
                        "title": item.title,
                        "kind": str(item.write_off_kind),
                        "reason": item.reason,
                        "requested_by": item.requested_by,
                    }
                )
            return found

    # -- assets -------------------------------------------------------------
    def return_asset(
        self, case_id: int, tag: str, body: ReturnBody, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            case, item = _asset_item(uow, case_id, tag)
            asset = uow.assets.by_tag(tag, lock=True)
            if (
                asset is None
                or asset.holder_id != case.person_id
                or (asset.state is not AssetState.IN_USE)
            ):
                raise ConflictError(
                    f"{case.person_name} does not hold asset {tag}; nothing recorded"
                )
            now = uow.clock.now()
            _rule(
                lambda: item.mark_returned(
                    body.condition, body.received_by, who.actor, now
                )
            )
            take_back(
                uow,
                asset,
                who.actor,
                AssignmentEnd.RETURNED,
                body.condition,
                body.received_by,
                body.note,
            )
            self._audit(uow, case, who, "offboarding.asset_returned", item, body.note)
            return self._done(uow, case)

    def request_write_off(
        self, case_id: int, tag: str, body: WriteOffBody, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            case, item = _asset_item(uow, case_id, tag)
            now = uow.clock.now()
            _rule(
                lambda: item.request_write_off(
                    body.kind, body.reason, who.actor, who.employee_id, now
                )
            )
            self._audit(
                uow, case, who, "offboarding.write_off_requested", item, body.reason
            )
            return self._done(uow, case)

    def decide_write_off(
        self, case_id: int, tag: str, approve: bool, note: str, who: Principal
    ) -> dict[str, Any]:
        """The security officer's decision; never the requester's (5.3)."""
        with self.uow_factory() as uow:
            case, item = _asset_item(uow, case_id, tag)
            decider = Decider(who.actor, who.employee_id, who.roles)
            now = uow.clock.now()
            _rule(
                lambda: item.decide_write_off(
                    approve, decider, case.employee_id, now, note
                )
            )
            asset = uow.assets.by_tag(tag, lock=True)
            if approve and asset is not None and asset.holder_id == case.person_id:
                outcome = (
                    AssignmentEnd.LOST
                    if item.write_off_kind is WriteOffKind.LOST
                    else AssignmentEnd.WRITTEN_OFF
                )
                take_back(uow, asset, who.actor, outcome, None, None, item.reason)
            action = "write_off_approved" if approve else "write_off_rejected"
            self._audit(uow, case, who, f"offboarding.{action}", item, note)
            return self._done(uow, case)

    # -- tasks --------------------------------------------------------------
    def complete_item(
        self, case_id: int, item_id: int, body: CompleteBody, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            case, item = _item(uow, case_id, item_id)
            now = uow.clock.now()
            _rule(
                lambda: item.complete(
                    body.resolution, who.actor, now, body.note, body.received_by
                )
            )
            self._audit(uow, case, who, "offboarding.item_done", item, body.note)
            return self._done(uow, case)

    def waive_item(
        self, case_id: int, item_id: int, body: WaiveBody, who: Principal
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            case, item = _item(uow, case_id, item_id)
            now = uow.clock.now()
            _rule(lambda: item.waive(body.reason, who.actor, now))
            self._audit(uow, case, who, "offboarding.item_waived", item, body.reason)
            return self._done(uow, case)

    # -- closing ------------------------------------------------------------
    def close(self, case_id: int, body: CloseBody, who: Principal) -> dict[str, Any]:
        with self.uow_factory() as uow:
            case = _case(uow, case_id, lock=True)
            if case.status is not CaseStatus.OPEN:
                raise ConflictError(f"case {case_id} is {case.status}")
            accounts = account_progress(uow, case)
            outstanding = outstanding_for_close(
                uow.offboarding.items(case_id), accounts
            )
            if outstanding:
                raise CaseOutstanding(
                    f"case {case_id} cannot close: {len(outstanding)} item(s) are "
                    "outstanding",
                    details=[o.as_dict() for o in outstanding],
                )
            now = uow.clock.now()
            case.all_disabled_at = all_disabled_at(uow, case, accounts)
            retention = self.ctx.policy().offboarding.account_retention_days
            case.close(who.actor, now, body.note, retention)
            uow.record(
                who.actor,
                "offboarding.case_closed",
                case_target(case),
                after={
                    "deletion_due_at": case.deletion_due_at.isoformat()
                    if case.deletion_due_at
                    else None
                },
                reason=body.note,
            )
            return self._done(uow, case)

    # -- helpers ------------------------------------------------------------
    @staticmethod
    def _audit(
        uow: UnitOfWork,
        case: OffboardingCase,
        who: Principal,
        action: str,
        item: CaseItem,
        reason: str,
    ) -> None:
        uow.record(
            who.actor,
            action,
            case_target(case),
            after={
                "item": item.id,
                "kind": str(item.kind),
                "title": item.title,
                "status": str(item.status),
                "resolution": str(item.resolution) if item.resolution else None,
            },
            reason=reason,
        )

    @staticmethod
    def _done(uow: UnitOfWork, case: OffboardingCase) -> dict[str, Any]:
        uow.commit()
        return case_detail(uow, case)


def _rule(step: Any) -> None:
    """Run a domain step; its refusals become 409 (403 for 5.3)."""
    try:
        step()
    except ApprovalRefused as error:
        raise Forbidden(str(error)) from None
    except CaseRuleError as error:
        raise ConflictError(str(error)) from None


def _case(uow: UnitOfWork, case_id: int, *, lock: bool = False) -> OffboardingCase:
    case = uow.offboarding.get(case_id, lock=lock)
    if case is None:
        raise NotFoundError(f"no offboarding case {case_id}")
    return case


def _item(
    uow: UnitOfWork, case_id: int, item_id: int
) -> tuple[OffboardingCase, CaseItem]:
    """A task item that may be worked now: any item of an open case; a data
    handover also on a closed case until its accounts are deleted (it holds
    up deletion, not closing)."""
    case = _case(uow, case_id, lock=True)
    item = uow.offboarding.item(case_id, item_id)
    if item is None:
        raise NotFoundError(f"case {case_id} has no item {item_id}")
    late_handover = (
        item.kind is ItemKind.DATA_HANDOVER
        and case.status is CaseStatus.CLOSED
        and case.cancelled_at is None
        and case.deletion_queued_at is None
    )
    if case.status is not CaseStatus.OPEN and not late_handover:
        raise ConflictError(f"case {case_id} is {case.status}")
    return case, item


def _asset_item(
    uow: UnitOfWork, case_id: int, tag: str
) -> tuple[OffboardingCase, CaseItem]:
    case = _case(uow, case_id, lock=True)
    if case.status is not CaseStatus.OPEN:
        raise ConflictError(f"case {case_id} is {case.status}")
    asset = uow.assets.by_tag(tag)
    if asset is None:
        raise NotFoundError(f"no asset with tag {tag}")
    items = [
        i
        for i in uow.offboarding.items(case_id)
        if i.asset_id == asset.id and i.kind is ItemKind.ASSET_RETURN
    ]
    if not items:
        raise ConflictError(
            f"asset {asset.tag} is not on case {case_id}: {case.person_name} "
            "did not hold it when they left; nothing recorded"
        )
    return case, items[0]
