"""What an elevation must pass before it is written, how it is shown, and
how the security officer hears of it (``services/elevations.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from iam_service.domain.elevation import (
    Elevation,
    ElevationKind,
    ElevationRuleError,
    ElevationStatus,
)
from iam_service.domain.entitlements import effective_entitlements, introduced_conflicts
from iam_service.domain.model import AccountStatus, Person, PersonStatus
from iam_service.domain.policy import Policy
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.access_requests import SodConflictError
from iam_service.services.access_views import SegregationOfDutiesError
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    ServiceError,
)
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.notifier import Notification, Notifier
from iam_service.services.unit_of_work import UnitOfWork

NOTICE_TEMPLATE = "elevation_notice"  # adapters/mail_templates/, ja and en


def rule_error(error: ElevationRuleError) -> ServiceError:
    if error.kind == "segregation":
        return SegregationOfDutiesError(str(error))
    if error.kind == "conflict":
        return ConflictError(str(error), field=error.field)
    return InvalidInput(str(error), field=error.field)


def check_grantable(
    uow: UnitOfWork,
    who: Principal | None,
    ref: str,
    policy: Policy,
    ctx: LifecycleContext,
    elevation: Elevation | None = None,
) -> Person:
    """The person (``who``, or the elevation's) may be given ``ref`` now:
    a privileged catalogue entitlement (422 otherwise) of a connected
    system where they have an account, not held yet, breaking no SoD rule
    without the security officer's exception (409 otherwise)."""
    person = _person(uow, who, elevation)
    definition = policy.entitlement(ref)
    if definition is None:
        raise InvalidInput(f"unknown entitlement {ref!r}", field="entitlement")
    if not definition.privileged:
        raise InvalidInput(
            f"{ref} is not privileged: ask for it with an access request "
            "(POST /api/v1/access-requests)",
            field="entitlement",
        )
    system = definition.system_key
    account = next(
        (
            a
            for a in uow.accounts.for_person(person.id or 0)
            if a.system_key == system and a.status is not AccountStatus.DELETED
        ),
        None,
    )
    if not ctx.systems.configured(system) or account is None:
        raise ConflictError(
            f"{person.employee_id} has no account in system {system!r} to elevate"
        )
    now = uow.clock.now()
    held = effective_entitlements(uow.grants.active_for_person(person.id or 0), now)
    if ref in held:
        raise ConflictError(f"{person.employee_id} already holds {ref}")
    conflicts = introduced_conflicts(
        held, held | {ref}, policy, uow.sod_exceptions.for_person(person.id or 0), now
    )
    if conflicts:
        raise SodConflictError(
            f"{conflicts[0].describe()}. The security officer may record an "
            "exception (POST /api/v1/sod-exceptions)",
            field="entitlement",
        )
    return person


def _person(
    uow: UnitOfWork, who: Principal | None, elevation: Elevation | None
) -> Person:
    if who is not None:
        if who.employee_id is None:
            raise Forbidden(
                "an elevation is for a named person (8.18): use a token or "
                "sign-in tied to your employee id"
            )
        person = uow.persons.by_employee_id(who.employee_id, lock=True)
    else:
        person = uow.persons.get(elevation.person_id) if elevation else None
    if person is None:
        raise ConflictError("the service knows no person with that employee id")
    if person.status is not PersonStatus.ACTIVE:
        raise ConflictError(f"{person.employee_id} is {person.status}")
    return person


def tell_security_officer(
    uow: UnitOfWork,
    notifier: Notifier,
    elevation: Elevation,
    event: str,
    ctx: LifecycleContext,
) -> None:
    """A notice for the security officer, and the notifier (e-mail) hook:
    ``event`` is ``requested``, ``break_glass`` or ``escalation``."""
    hours = f"{elevation.duration_minutes / 60:g} h"
    who = f"{elevation.requested_by} for {elevation.employee_id}"
    texts = {
        "requested": (
            "Privileged elevation waiting for approval",
            f"{who} asks for {elevation.entitlement_ref} for {hours}: "
            f"{elevation.reason}",
        ),
        "break_glass": (
            "Break-glass use: ratify or refuse",
            f"{who} took {elevation.entitlement_ref} at once for {hours} "
            f"(break-glass): {elevation.reason}. Ratify it or refuse it "
            "(POST /api/v1/elevations/"
            f"{elevation.id}/ratify or /reject).",
        ),
        "escalation": (
            "Break-glass use still not ratified",
            f"{who} took {elevation.entitlement_ref} (break-glass) at "
            f"{elevation.requested_at:%Y-%m-%d %H:%M} UTC and nobody has ratified "
            f"it (escalation {elevation.escalations}): {elevation.reason}",
        ),
    }
    title, detail = texts[event]
    now = uow.clock.now()
    uow.notices.add(
        Notice(
            kind=f"elevation_{event}",
            subject=f"elevation:{elevation.id}",
            detail=f"{title}. {detail}",
            audience=Role.SECURITY_OFFICER,
            created_at=now,
        )
    )
    notifier.notify(
        uow,
        Notification(
            key=f"elevation:{elevation.id}:{event}:{elevation.escalations}",
            kind=f"elevation_{event}",
            audience=Role.SECURITY_OFFICER,
            subject=f"elevation:{elevation.id}",
            title=title,
            detail=detail,
            template=NOTICE_TEMPLATE,
            context=_mail_context(uow, elevation, event, ctx),
        ),
    )


def _mail_context(
    uow: UnitOfWork, elevation: Elevation, event: str, ctx: LifecycleContext
) -> dict[str, object]:
    """The data of ``elevation_notice``: names, local times, no secrets."""
    policy = ctx.policy()
    definition = policy.entitlement(elevation.entitlement_ref)
    name = definition.name if definition else elevation.entitlement_ref
    person = uow.persons.get(elevation.person_id)

    def local(moment: datetime | None) -> str:
        return f"{moment.astimezone(ctx.timezone):%Y-%m-%d %H:%M %Z}" if moment else ""

    return {
        "event": event,
        "elevation_id": elevation.id,
        "employee_id": elevation.employee_id,
        "person_name": person.display_name if person else elevation.employee_id,
        "requested_by": elevation.requested_by,
        "entitlement_ref": elevation.entitlement_ref,
        "entitlement_name": name,
        "entitlement_name_ja": (definition.name_ja or name) if definition else name,
        "hours": f"{elevation.duration_minutes / 60:g}",
        "reason": elevation.reason,
        "requested_at": local(elevation.requested_at),
        "expires_at": local(elevation.expires_at),
        "active": elevation.status is ElevationStatus.ACTIVE,
        "escalation": elevation.escalations,
        "ratify_within_minutes": policy.elevation.ratify_within_minutes,
    }


def elevation_view(e: Elevation) -> dict[str, Any]:
    def at(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": e.id,
        "employee_id": e.employee_id,
        "entitlement": e.entitlement_ref,
        "kind": str(e.kind),
        "break_glass": e.kind is ElevationKind.BREAK_GLASS,
        "status": str(e.status),
        "reason": e.reason,
        "hours": e.duration_minutes / 60,
        "requested_by": e.requested_by,
        "requested_at": at(e.requested_at),
        "decided_by": e.decided_by,
        "decided_at": at(e.decided_at),
        "decision_reason": e.decision_reason,
        "starts_at": at(e.starts_at),
        "expires_at": at(e.expires_at),
        "grant_id": e.grant_id,
        "ended_at": at(e.ended_at),
        "ended_by": e.ended_by,
        "end_reason": e.end_reason,
        "ratification": str(e.ratification) if e.ratification else None,
        "ratified_by": e.ratified_by,
        "ratified_at": at(e.ratified_at),
        "ratification_reason": e.ratification_reason,
        "escalations": e.escalations,
        "last_escalated_at": at(e.last_escalated_at),
    }
