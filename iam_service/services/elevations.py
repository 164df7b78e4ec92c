"""Time-boxed privileged elevation and break-glass use (8.2, 8.18, 5.3).

Contract of each use case (one transaction; a refusal raises a
``ServiceError`` and writes nothing):

* ``request``: a system administrator, as a person (a token tied to an
  employee id), asks for a privileged catalogue entitlement for some hours
  with a reason. Unknown or non-privileged entitlements and durations over
  the policy's ``elevation.max_hours`` are 422; no account in the system,
  already held, already pending or an SoD conflict are 409.
* ``approve`` / ``reject``: the security officer decides a pending request,
  never their own (403). Approval writes ``Grant(source=ELEVATION,
  expires_at=now + hours)`` and queues the group addition at
  ``Priority.ELEVATED``. The expiry job (``services/grant_expiry.py``)
  removes it on time, whatever restarted in between.
* ``break_glass``: the same checks, limited to ``break_glass_max_hours``;
  granted at once, the security officer is told at once, and the use waits
  for ``ratify`` (or ``reject``, which ends it at once). Unratified uses are
  escalated by ``escalate_unratified`` (the scheduled job).
* ``end``: ends an active elevation early (or withdraws a pending one).

Every step is audited with target ``elevation:<id>``.
"""

from __future__ import annotations

from typing import Any

from iam_service.domain import elevation as rules
from iam_service.domain.elevation import (
    Elevation,
    ElevationCreate,
    ElevationKind,
    ElevationStatus,
    Ratification,
)
from iam_service.domain.model import Grant, Person
from iam_service.domain.policy import Policy
from iam_service.services import elevation_steps as steps
from iam_service.services.auth import Principal
from iam_service.services.elevation_checks import (
    check_grantable,
    elevation_view,
    rule_error,
    tell_security_officer,
)
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.notifier import Notifier
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class Elevations:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext, notifier: Notifier
    ) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx
        self.notifier = notifier

    # -- asking and taking ------------------------------------------------
    def request(self, body: ElevationCreate, who: Principal) -> dict[str, Any]:
        return self._create(body, who, ElevationKind.REQUEST)

    def break_glass(self, body: ElevationCreate, who: Principal) -> dict[str, Any]:
        return self._create(body, who, ElevationKind.BREAK_GLASS)

    def _create(
        self, body: ElevationCreate, who: Principal, kind: ElevationKind
    ) -> dict[str, Any]:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            person = check_grantable(uow, who, body.entitlement, policy, self.ctx)
            try:
                minutes = rules.duration_minutes(body.hours, kind, policy.elevation)
            except rules.ElevationRuleError as error:
                raise rule_error(error) from None
            waiting = uow.elevations.find(
                status=ElevationStatus.PENDING, employee_id=person.employee_id
            )
            for other in waiting if kind is ElevationKind.REQUEST else ():
                # An emergency is never held up by a request still waiting.
                if other.entitlement_ref == body.entitlement:
                    raise ConflictError(
                        f"elevation {other.id} for {body.entitlement} is already "
                        "waiting for the security officer"
                    )
            now = uow.clock.now()
            elevation = Elevation(
                person_id=steps.person_id(person),
                employee_id=person.employee_id,
                entitlement_ref=body.entitlement,
                kind=kind,
                reason=body.reason,
                duration_minutes=minutes,
                requested_by=who.actor,
                requested_by_employee_id=who.employee_id,
                requested_at=now,
                updated_at=now,
            )
            uow.elevations.add(elevation)
            uow.flush()
            if kind is ElevationKind.BREAK_GLASS:
                self._take(uow, elevation, person, policy, who)
            else:
                steps.audit(
                    uow, who.actor, "elevation.requested", elevation, body.reason
                )
                tell_security_officer(
                    uow, self.notifier, elevation, "requested", self.ctx
                )
            view = elevation_view(elevation)
            uow.commit()
            return view

    def _take(
        self,
        uow: UnitOfWork,
        elevation: Elevation,
        person: Person,
        policy: Policy,
        who: Principal,
    ) -> None:
        """Break-glass: granted now, the security officer told now (8.2)."""
        elevation.ratification = Ratification.PENDING
        steps.audit(
            uow, who.actor, "elevation.break_glass_used", elevation, elevation.reason
        )
        steps.activate(uow, elevation, person, policy, self.ctx, who.actor)
        tell_security_officer(uow, self.notifier, elevation, "break_glass", self.ctx)

    # -- deciding ---------------------------------------------------------
    def approve(
        self, elevation_id: int, who: Principal, reason: str = ""
    ) -> dict[str, Any]:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            elevation = self._decidable(uow, elevation_id, who, "approves")
            if elevation.status is not ElevationStatus.PENDING:
                raise ConflictError(f"elevation {elevation_id} is {elevation.status}")
            person = check_grantable(
                uow, None, elevation.entitlement_ref, policy, self.ctx, elevation
            )
            if elevation.duration_minutes > policy.elevation.max_hours * 60:
                raise ConflictError(
                    "the policy's elevation.max_hours is now "
                    f"{policy.elevation.max_hours:g}: ask again"
                )
            steps.decide(uow, elevation, who, reason)
            steps.audit(uow, who.actor, "elevation.approved", elevation, reason)
            steps.activate(uow, elevation, person, policy, self.ctx, who.actor)
            view = elevation_view(elevation)
            uow.commit()
            return view

    def reject(self, elevation_id: int, who: Principal, reason: str) -> dict[str, Any]:
        """A pending request is refused; an unratified break-glass use is
        refused after the fact and ends at once."""
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            elevation = self._decidable(uow, elevation_id, who, "rejects")
            if elevation.status is ElevationStatus.PENDING:
                steps.decide(uow, elevation, who, reason)
                elevation.status = ElevationStatus.REJECTED
                steps.audit(uow, who.actor, "elevation.rejected", elevation, reason)
            elif elevation.ratification is Ratification.PENDING:
                steps.ratify(uow, elevation, who, Ratification.REFUSED, reason)
                if elevation.status is ElevationStatus.ACTIVE:
                    steps.finish(uow, elevation, policy, self.ctx, who.actor, reason)
                    elevation.status = ElevationStatus.REJECTED
                steps.audit(uow, who.actor, "elevation.refused", elevation, reason)
            else:
                raise ConflictError(
                    f"elevation {elevation_id} is {elevation.status}; only a pending "
                    "request or an unratified break-glass use can be rejected"
                )
            view = elevation_view(elevation)
            uow.commit()
            return view

    def ratify(self, elevation_id: int, who: Principal, reason: str) -> dict[str, Any]:
        """The security officer approves a break-glass use after the fact."""
        with self.uow_factory() as uow:
            elevation = self._decidable(uow, elevation_id, who, "ratifies")
            if elevation.ratification is not Ratification.PENDING:
                raise ConflictError(
                    f"elevation {elevation_id} has no break-glass use to ratify"
                )
            steps.ratify(uow, elevation, who, Ratification.RATIFIED, reason)
            steps.audit(uow, who.actor, "elevation.ratified", elevation, reason)
            view = elevation_view(elevation)
            uow.commit()
            return view

    def end(self, elevation_id: int, who: Principal, reason: str) -> dict[str, Any]:
        """End an active elevation now, or withdraw a pending request."""
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            elevation = self._get(uow, elevation_id, lock=True)
            if elevation.status is ElevationStatus.PENDING:
                steps.decide(uow, elevation, who, reason)
            elif elevation.status is ElevationStatus.ACTIVE:
                steps.finish(uow, elevation, policy, self.ctx, who.actor, reason)
            else:
                raise ConflictError(f"elevation {elevation_id} is {elevation.status}")
            elevation.status = ElevationStatus.ENDED
            elevation.ended_at, elevation.ended_by = uow.clock.now(), who.actor
            elevation.end_reason = reason
            steps.audit(uow, who.actor, "elevation.ended", elevation, reason)
            view = elevation_view(elevation)
            uow.commit()
            return view

    # -- reading ----------------------------------------------------------
    def get(self, elevation_id: int) -> dict[str, Any]:
        with self.uow_factory() as uow:
            return elevation_view(self._get(uow, elevation_id))

    def find(
        self,
        *,
        active: bool = False,
        status: ElevationStatus | None = None,
        employee_id: str | None = None,
        unratified: bool = False,
    ) -> list[dict[str, Any]]:
        """The privileged view (8.2): ``active`` keeps those in force now."""
        with self.uow_factory() as uow:
            found = uow.elevations.find(
                status=status,
                active_at=uow.clock.now() if active else None,
                employee_id=employee_id,
                unratified=unratified,
            )
            return [elevation_view(e) for e in found]

    # -- helpers ----------------------------------------------------------
    @staticmethod
    def _get(uow: UnitOfWork, elevation_id: int, *, lock: bool = False) -> Elevation:
        elevation = uow.elevations.get(elevation_id, lock=lock)
        if elevation is None:
            raise NotFoundError(f"no elevation {elevation_id}")
        return elevation

    def _decidable(
        self, uow: UnitOfWork, elevation_id: int, who: Principal, what: str
    ) -> Elevation:
        elevation = self._get(uow, elevation_id, lock=True)
        try:
            rules.check_decider(elevation, who.actor, who.employee_id, what)
        except rules.ElevationRuleError as error:
            raise rule_error(error) from None
        return elevation


def expired(uow: UnitOfWork, grant: Grant, actor: str) -> None:
    """The expiry job removed an elevation's grant: record it on time."""
    elevation = uow.elevations.by_grant(grant.id or 0)
    if elevation is None or elevation.status is not ElevationStatus.ACTIVE:
        return
    elevation.status = ElevationStatus.EXPIRED
    elevation.ended_at = elevation.updated_at = uow.clock.now()
    elevation.ended_by = actor
    steps.audit(uow, actor, "elevation.expired", elevation, "its time is up (8.18)")


def escalate_unratified(
    uow_factory: UnitOfWorkFactory, ctx: LifecycleContext, notifier: Notifier
) -> int:
    """The scheduled job: escalate every break-glass use still unratified
    after the grace period, again every ``escalate_every_minutes``."""
    policy = ctx.policy().elevation
    escalated = 0
    with uow_factory() as uow:
        now = uow.clock.now()
        for elevation in uow.elevations.awaiting_ratification():
            if not elevation.escalation_due(now, policy):
                continue
            elevation.escalations += 1
            elevation.last_escalated_at = elevation.updated_at = now
            steps.audit(
                uow,
                "scheduler",
                "elevation.escalated",
                elevation,
                f"break-glass use not ratified within {policy.ratify_within_minutes} "
                f"minutes (escalation {elevation.escalations})",
            )
            tell_security_officer(uow, notifier, elevation, "escalation", ctx)
            escalated += 1
        uow.commit()
    return escalated
