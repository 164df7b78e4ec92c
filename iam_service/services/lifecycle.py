"""Joiner, mover and leaver steps shared by HR intake and the scheduled jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from iam_service.domain.hr import HrEventStatus, HrEventType
from iam_service.domain.model import Department, Person, PersonStatus
from iam_service.domain.operations import Priority
from iam_service.domain.policy import Policy
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services import movers, offboarding
from iam_service.services.console_sessions import end_sessions_of
from iam_service.services.custodians import CustodianLookup, NoCustodianships
from iam_service.services.privileged_hooks import CustodianHooks, NoCustodianHooks
from iam_service.services.provisioning import Provisioner, Systems
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

UNKNOWN_DEPARTMENT = "unknown_department"


@dataclass(frozen=True)
class LifecycleContext:
    """What the lifecycle steps need from the composition root."""

    policy: Callable[[], Policy]
    systems: Systems
    timezone: ZoneInfo
    # 5.18: the privileged accounts a leaver looks after (services/custodians.py).
    custodians: CustodianLookup = field(default_factory=NoCustodianships)
    # 5.18: handovers of what a leaver or mover looks after (services/handover.py).
    handovers: CustodianHooks = field(default_factory=NoCustodianHooks)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()


def place_in_department(
    uow: UnitOfWork, person: Person, policy: Policy, *, actor: str, cause: str
) -> None:
    """Record the department; one no policy knows is flagged, never guessed."""
    code = person.department_code
    known = policy.knows_department(code)
    department = uow.departments.get(code)
    if department is None:
        definition = next((d for d in policy.departments if d.code == code), None)
        department = Department(
            code=code,
            name=definition.name if definition else code,
            head_employee_id=definition.head_employee_id if definition else None,
            known_to_policy=known,
        )
        uow.departments.add(department)
    department.known_to_policy = known
    flags = [f for f in person.flags if f != UNKNOWN_DEPARTMENT]
    if not known:
        flags.append(UNKNOWN_DEPARTMENT)
        uow.notices.add(
            Notice(
                kind=UNKNOWN_DEPARTMENT,
                subject=f"person:{person.employee_id}",
                detail=(
                    f"HR placed {person.employee_id} in department {code!r}, which no "
                    "policy knows. No birthright access was given; add the department "
                    "to the policy, then re-apply it."
                ),
                audience=Role.SYSADMIN,
                created_at=uow.clock.now(),
            )
        )
        uow.record(
            actor,
            "person.flagged",
            f"person:{person.employee_id}",
            after={"flag": UNKNOWN_DEPARTMENT, "department": code},
            reason=cause,
        )
    person.flags = flags


def provision(
    uow: UnitOfWork, person: Person, ctx: LifecycleContext, *, actor: str, cause: str
) -> Provisioner:
    """Bring grants and accounts in line with the person's birthright."""
    policy = ctx.policy()
    provisioner = Provisioner(uow, policy, ctx.systems, actor=actor, cause=cause)
    birthright = policy.birthright_for(
        person.department_code, person.title, person.employment_type
    )
    provisioner.sync_birthright(person, birthright)
    return provisioner


def terminate(
    uow: UnitOfWork,
    person: Person,
    ctx: LifecycleContext,
    *,
    actor: str,
    cause: str,
    end: datetime,
) -> Provisioner:
    """5.16 "made unusable promptly": disable everywhere in the priority lane,
    end every grant, and record why."""
    before = person.snapshot()
    person.status = PersonStatus.TERMINATED
    person.end_date = ctx.local_date(end)
    person.updated_at = uow.clock.now()
    provisioner = Provisioner(uow, ctx.policy(), ctx.systems, actor=actor, cause=cause)
    for grant in uow.grants.active_for_person(_id(person)):
        provisioner.remove_grant(person, grant, "termination")
    movers.settle(uow, person, actor=actor, why=f"terminated ({cause})")
    provisioner.leave(person)
    # Their console sessions end in this same transaction (5.16).
    end_sessions_of(uow, person.employee_id, actor=actor, cause=cause)
    uow.record(
        actor,
        "person.terminated",
        f"person:{person.employee_id}",
        before=before,
        after=person.snapshot(),
        reason=cause,
    )
    # 5.18 with 5.11: the offboarding case opens in this same transaction.
    offboarding.open_case(
        uow,
        person,
        actor=actor,
        cause=cause,
        terminated_at=end,
        policy=ctx.policy().offboarding,
        custodians=ctx.custodians,
    )
    # 5.18: their admin passwords change now; the case lists each handover.
    ctx.handovers.on_terminated(uow, person, actor=actor, cause=cause)
    return provisioner


def activate_starters(uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> int:
    """Enable the accounts of hires whose start day has come."""
    started = 0
    with uow_factory() as uow:
        today = ctx.local_date(uow.clock.now())
        due = [
            p
            for p in uow.persons.all()
            if p.status is PersonStatus.PENDING_START
            and p.start_date
            and p.start_date <= today
        ]
        for person in due:
            person.status = PersonStatus.ACTIVE
            person.updated_at = uow.clock.now()
            provisioner = Provisioner(
                uow,
                ctx.policy(),
                ctx.systems,
                actor="scheduler",
                cause=f"start:{person.employee_id}:{person.start_date}",
            )
            provisioner.set_enabled(person, True, priority=Priority.ELEVATED)
            uow.record(
                "scheduler",
                "person.started",
                f"person:{person.employee_id}",
                after={"start_date": str(person.start_date)},
                reason="start date reached",
            )
            started += 1
        uow.commit()
    return started


def apply_due_terminations(
    uow_factory: UnitOfWorkFactory, ctx: LifecycleContext
) -> int:
    """Carry out future-dated terminations whose time has come."""
    applied = 0
    with uow_factory() as uow:
        now = uow.clock.now()
        for record in uow.hr_events.due(
            HrEventType.TERMINATE, HrEventStatus.SCHEDULED, now
        ):
            person = uow.persons.by_employee_id(record.employee_id)
            record.status = HrEventStatus.APPLIED
            if person is None or person.status is PersonStatus.TERMINATED:
                continue
            terminate(
                uow,
                person,
                ctx,
                actor="scheduler",
                cause=f"hr:{record.event_id}",
                end=record.effective_at,
            )
            person.last_event_at = record.effective_at
            applied += 1
        uow.commit()
    return applied


def _id(person: Person) -> int:
    if person.id is None:
        raise RuntimeError("flush the person first")
    return person.id
