"""Planned (future-dated) terminations, and the security officer's action to
run one now.

HR intake records a future-dated termination as ``scheduled`` in
``hr_events``; the ``apply_due_terminations`` job carries it out at its
effective time from that record, so it survives restarts (the scheduler's
own job store holds nothing). ``run_now`` is the urgent path when the date
cannot wait (an incident, a dismissal): the security officer brings the
planned termination forward with a reason, and it is applied at once in the
priority lane, with its offboarding case, exactly as at its date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from iam_service.domain.hr import HrEventStatus, HrEventType
from iam_service.domain.model import PersonStatus
from iam_service.domain.records import HrEventRecord
from iam_service.services import lifecycle
from iam_service.services.errors import ConflictError, InvalidInput, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class PlannedTerminations:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def list(self) -> list[dict[str, Any]]:
        """Every termination waiting for its date, soonest first."""
        with self.uow_factory() as uow:
            far = datetime(9999, 12, 31, tzinfo=UTC)
            due = uow.hr_events.due(HrEventType.TERMINATE, HrEventStatus.SCHEDULED, far)
            return [_view(uow, r) for r in due]

    def run_now(self, employee_id: str, reason: str, actor: str) -> dict[str, Any]:
        """Apply ``employee_id``'s planned termination now (the caller checked
        the security officer role). 422 without a reason, 404 without a
        planned termination, 409 if the person has already left."""
        if not reason.strip():
            raise InvalidInput("say why the termination cannot wait", field="reason")
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(employee_id, lock=True)
            if person is None:
                raise NotFoundError(f"no person with employee id {employee_id}")
            planned = [
                r
                for r in uow.hr_events.for_employee(employee_id)
                if r.type == HrEventType.TERMINATE
                and r.status == HrEventStatus.SCHEDULED
            ]
            if not planned:
                raise NotFoundError(f"{employee_id} has no planned termination")
            if person.status is PersonStatus.TERMINATED:
                raise ConflictError(f"{employee_id} has already left")
            record = min(planned, key=lambda r: r.effective_at)
            now = uow.clock.now()
            record.status = HrEventStatus.APPLIED
            uow.record(
                actor,
                "person.termination_brought_forward",
                f"person:{employee_id}",
                before={"effective_at": record.effective_at.isoformat()},
                after={"applied_at": now.isoformat()},
                reason=reason.strip(),
            )
            lifecycle.terminate(
                uow,
                person,
                self.ctx,
                actor=actor,
                cause=f"hr:{record.event_id}",
                end=now,
            )
            person.last_event_at = now
            view = _view(uow, record)
            uow.commit()
            return view


def _view(uow: UnitOfWork, record: HrEventRecord) -> dict[str, Any]:
    person = uow.persons.by_employee_id(record.employee_id)
    return {
        "event_id": record.event_id,
        "employee_id": record.employee_id,
        "name": person.display_name if person else None,
        "department": person.department_code if person else None,
        "effective_at": record.effective_at.isoformat(),
        "received_at": record.received_at.isoformat(),
        "status": str(record.status),
    }
