"""HR intake: hires, updates (transfers), terminations and rehires.

One handler serves the webhook, the CSV import and the inbound SCIM
endpoint. Its contract:

* the same ``event_id`` again returns the stored result and changes nothing
  (a different payload under a used ``event_id`` is a conflict);
* an event older than the newest one applied to the person is recorded as
  ``stale`` and changes nothing, so a late delivery never undoes a newer
  change. An event's age is its effective time, or its arrival time when it
  takes effect in the future (``docs/decisions/0004-hr-event-ordering.md``);
* a refused event (unknown person, employee id or e-mail in use, ...)
  raises a ``ServiceError`` and writes nothing;
* every accepted event writes its record, the person, the grants, the
  operations and the audit records in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iam_service.domain.hr import Employee, HrEvent, HrEventStatus, HrEventType
from iam_service.domain.model import EmploymentType, Person, PersonStatus
from iam_service.domain.records import HrEventRecord
from iam_service.services import lifecycle, movers, offboarding
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

_MOVER_FIELDS = ("department_code", "title", "employment_type")
_FIELD_OF = {  # HR's field name -> Person attribute
    "given_name": "given_name",
    "family_name": "family_name",
    "email": "email",
    "department": "department_code",
    "title": "title",
    "manager_employee_id": "manager_employee_id",
    "employment_type": "employment_type",
}
_ACCOUNT_FIELD = {"department_code": "department"}


class HrIntake:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def submit(
        self, event: HrEvent, *, actor: str, source: str = "api"
    ) -> dict[str, Any]:
        """Apply one event in its own transaction; returns the result body."""
        with self.uow_factory() as uow:
            result = self.apply(uow, event, actor=actor, source=source)
            uow.commit()
        return result

    def apply(
        self, uow: UnitOfWork, event: HrEvent, *, actor: str, source: str
    ) -> dict[str, Any]:
        """Apply one event inside the caller's unit of work (no commit)."""
        payload = event.model_dump(mode="json")
        seen = uow.hr_events.get(event.event_id)
        if seen is not None:
            if seen.payload != payload:
                raise ConflictError(
                    f"event_id {event.event_id!r} was already used for another event",
                    field="event_id",
                )
            return seen.result
        now = uow.clock.now()
        effective = event.effective_at or now
        handler = {
            HrEventType.HIRE: self._hire,
            HrEventType.UPDATE: self._update,
            HrEventType.TERMINATE: self._terminate,
            HrEventType.REHIRE: self._rehire,
        }[event.type]
        actor_cause = (actor, f"hr:{event.event_id}")
        status, person, provisioner = handler(uow, event, effective, actor_cause)
        result = {
            "event_id": event.event_id,
            "type": str(event.type),
            "status": str(status),
            "employee_id": event.employee.employee_id,
            "person_status": str(person.status),
            "effective_at": effective.isoformat(),
            "operations_queued": len(provisioner.queued) if provisioner else 0,
            "flags": list(person.flags),
        }
        uow.hr_events.add(
            HrEventRecord(
                event_id=event.event_id,
                type=str(event.type),
                employee_id=event.employee.employee_id,
                received_at=now,
                effective_at=effective,
                status=str(status),
                payload=payload,
                result=result,
                source=source,
            )
        )
        uow.record(
            actor,
            f"hr_event.{status}",
            f"person:{person.employee_id}",
            after={"event_id": event.event_id, "type": str(event.type)},
            reason=f"{source} event",
        )
        return result

    # -- handlers: each returns (status, person, provisioner or None) --------
    def _hire(
        self, uow: UnitOfWork, event: HrEvent, effective: datetime, ac: tuple[str, str]
    ) -> tuple[HrEventStatus, Person, Provisioner | None]:
        e = event.employee
        existing = uow.persons.by_employee_id(e.employee_id)
        if existing is not None:
            hint = (
                "send a rehire"
                if existing.status is PersonStatus.TERMINATED
                else "send an update"
            )
            raise ConflictError(
                f"employee id {e.employee_id} is already used by "
                f"{existing.display_name}; {hint} for this person or use another id",
                field="employee.employee_id",
            )
        self._email_free(uow, e.email or "", None)
        now = uow.clock.now()
        start = self.ctx.local_date(effective)
        person = Person(
            employee_id=e.employee_id,
            given_name=e.given_name or "",
            family_name=e.family_name or "",
            email=e.email or "",
            department_code=e.department or "",
            title=e.title or "",
            employment_type=e.employment_type or EmploymentType.EMPLOYEE,
            manager_employee_id=e.manager_employee_id,
            status=PersonStatus.PENDING_START
            if start > self.ctx.local_date(now)
            else PersonStatus.ACTIVE,
            start_date=start,
            last_event_at=_order_time(effective, now),
            created_at=now,
            updated_at=now,
        )
        uow.persons.add(person)
        uow.flush()
        lifecycle.place_in_department(
            uow, person, self.ctx.policy(), actor=ac[0], cause=ac[1]
        )
        uow.record(
            ac[0],
            "person.hired",
            f"person:{person.employee_id}",
            after=person.snapshot(),
            reason=ac[1],
        )
        provisioner = lifecycle.provision(
            uow, person, self.ctx, actor=ac[0], cause=ac[1]
        )
        status = (
            HrEventStatus.SCHEDULED
            if person.status is PersonStatus.PENDING_START
            else HrEventStatus.APPLIED
        )
        return status, person, provisioner

    def _update(
        self, uow: UnitOfWork, event: HrEvent, effective: datetime, ac: tuple[str, str]
    ) -> tuple[HrEventStatus, Person, Provisioner | None]:
        person = self._existing(uow, event.employee)
        if person.status is PersonStatus.TERMINATED:
            raise ConflictError(
                f"{person.employee_id} is terminated; send a rehire instead"
            )
        now = uow.clock.now()
        if self._stale(person, effective, now):
            return HrEventStatus.STALE, person, None
        person.last_event_at = _order_time(effective, now)
        old_department = person.department_code
        old_position = (person.department_code, person.title)
        changed = self._apply_fields(uow, person, event.employee)
        if not changed:
            return HrEventStatus.NO_CHANGE, person, None
        provisioner = Provisioner(
            uow, self.ctx.policy(), self.ctx.systems, actor=ac[0], cause=ac[1]
        )
        if set(changed) & set(_MOVER_FIELDS):
            lifecycle.place_in_department(
                uow, person, self.ctx.policy(), actor=ac[0], cause=ac[1]
            )
            provisioner = lifecycle.provision(
                uow, person, self.ctx, actor=ac[0], cause=ac[1]
            )
            # 5.3, 5.18: SoD with the new birthright; the new head reviews.
            movers.after_move(
                uow, person, old_department, self.ctx, actor=ac[0], cause=ac[1]
            )
            # 5.18: a custodian leaving an admin position hands over.
            self.ctx.handovers.on_moved(
                uow, person, old_position, actor=ac[0], cause=ac[1]
            )
        provisioner.update_accounts(person, [_ACCOUNT_FIELD.get(f, f) for f in changed])
        return HrEventStatus.APPLIED, person, provisioner

    def _terminate(
        self, uow: UnitOfWork, event: HrEvent, effective: datetime, ac: tuple[str, str]
    ) -> tuple[HrEventStatus, Person, Provisioner | None]:
        person = self._existing(uow, event.employee)
        now = uow.clock.now()
        if self._stale(person, effective, now):
            return HrEventStatus.STALE, person, None
        if person.status is PersonStatus.TERMINATED:
            return HrEventStatus.NO_CHANGE, person, None
        if effective > now and not event.urgent:
            # Planned: the scheduler carries it out at the effective time,
            # from this record, so it survives restarts.
            person.end_date = self.ctx.local_date(effective)
            uow.record(
                ac[0],
                "person.termination_scheduled",
                f"person:{person.employee_id}",
                after={"effective_at": effective.isoformat()},
                reason=ac[1],
            )
            return HrEventStatus.SCHEDULED, person, None
        person.last_event_at = _order_time(effective, now)
        provisioner = lifecycle.terminate(
            uow, person, self.ctx, actor=ac[0], cause=ac[1], end=min(effective, now)
        )
        return HrEventStatus.APPLIED, person, provisioner

    def _rehire(
        self, uow: UnitOfWork, event: HrEvent, effective: datetime, ac: tuple[str, str]
    ) -> tuple[HrEventStatus, Person, Provisioner | None]:
        person = self._existing(uow, event.employee)
        now = uow.clock.now()
        if self._stale(person, effective, now):
            return HrEventStatus.STALE, person, None
        if person.status is not PersonStatus.TERMINATED:
            raise ConflictError(
                f"{person.employee_id} is not terminated; send an update"
            )
        before = person.snapshot()
        self._apply_fields(uow, person, event.employee)
        start = self.ctx.local_date(effective)
        person.status = (
            PersonStatus.PENDING_START
            if start > self.ctx.local_date(now)
            else PersonStatus.ACTIVE
        )
        person.start_date, person.end_date = start, None
        person.last_event_at = _order_time(effective, now)
        uow.record(
            ac[0],
            "person.rehired",
            f"person:{person.employee_id}",
            before=before,
            after=person.snapshot(),
            reason=ac[1],
        )
        lifecycle.place_in_department(
            uow, person, self.ctx.policy(), actor=ac[0], cause=ac[1]
        )
        # 5.16: the same accounts come back, cleared of what they held and
        # out of the leavers' container, before the fresh birthright is added;
        # the offboarding case is cancelled or its deletion called off.
        restorer = Provisioner(
            uow, self.ctx.policy(), self.ctx.systems, actor=ac[0], cause=ac[1]
        )
        offboarding.after_rehire(uow, person, restorer, actor=ac[0], cause=ac[1])
        provisioner = lifecycle.provision(
            uow, person, self.ctx, actor=ac[0], cause=ac[1]
        )
        provisioner.queued[:0] = restorer.queued
        provisioner.update_accounts(
            person,
            [
                "given_name",
                "family_name",
                "email",
                "department",
                "title",
                "manager_employee_id",
            ],
        )
        if person.status is PersonStatus.ACTIVE:
            provisioner.set_enabled(person, True)
        status = (
            HrEventStatus.SCHEDULED
            if person.status is PersonStatus.PENDING_START
            else HrEventStatus.APPLIED
        )
        return status, person, provisioner

    # -- helpers ------------------------------------------------------------
    @staticmethod
    def _existing(uow: UnitOfWork, employee: Employee) -> Person:
        person = uow.persons.by_employee_id(employee.employee_id, lock=True)
        if person is None:
            raise NotFoundError(
                f"no person with employee id {employee.employee_id}",
                field="employee.employee_id",
            )
        return person

    @staticmethod
    def _stale(person: Person, effective: datetime, now: datetime) -> bool:
        return (
            person.last_event_at is not None
            and _order_time(effective, now) < person.last_event_at
        )

    @staticmethod
    def _email_free(uow: UnitOfWork, email: str, person: Person | None) -> None:
        holder = uow.persons.by_email(email)
        if holder is not None and holder is not person:
            raise ConflictError(
                f"e-mail {email} is already used by {holder.employee_id}",
                field="employee.email",
            )

    def _apply_fields(self, uow: UnitOfWork, person: Person, e: Employee) -> list[str]:
        """Copy the fields HR sent; returns the Person attributes that changed."""
        before = person.snapshot()
        changed: list[str] = []
        for hr_name, attr in _FIELD_OF.items():
            value = getattr(e, hr_name)
            if value is not None and getattr(person, attr) != value:
                if attr == "email":
                    self._email_free(uow, value, person)
                setattr(person, attr, value)
                changed.append(attr)
        if changed:
            person.updated_at = uow.clock.now()
            action = (
                "person.transferred"
                if set(changed) & set(_MOVER_FIELDS)
                else "person.updated"
            )
            uow.record(
                "hr",
                action,
                f"person:{person.employee_id}",
                before=before,
                after=person.snapshot(),
            )
        return changed


def _order_time(effective: datetime, received: datetime) -> datetime:
    return min(effective, received)
