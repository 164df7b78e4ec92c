"""SoD exceptions (5.3): the security officer lets one person hold what one
rule forbids together, for a reason, until a date. They are records of
their own: an access request that an exception covers goes through, and the
exception is what reconciliation and the property tests accept as the only
excuse for a conflict. Every exception expires, and a grant it allowed
expires with it; revoking ends it early, and the requested grants it
allowed with it."""

from __future__ import annotations

from typing import Any

from iam_service.domain import access as rules
from iam_service.domain.access import SodExceptionCreate
from iam_service.domain.entitlements import SodException
from iam_service.domain.security import Role
from iam_service.services.access_views import rule_error
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
    SegregationOfDutiesError,
)
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.segregation import end_conflicting_requests
from iam_service.services.unit_of_work import UnitOfWorkFactory

MAX_EXCEPTION_DAYS = 365  # an exception is reviewed at least yearly


class SodExceptions:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def record(self, body: SodExceptionCreate, who: Principal) -> dict[str, Any]:
        """Record an exception (security officer; never for themselves)."""
        if not who.has(Role.SECURITY_OFFICER):
            raise Forbidden("SoD exceptions are recorded by the security officer")
        rule = self.ctx.policy().sod_rule(body.rule_id)
        if rule is None:
            raise InvalidInput(f"unknown SoD rule {body.rule_id!r}", field="rule_id")
        if who.employee_id is not None and who.employee_id == body.employee_id:
            raise SegregationOfDutiesError(
                "nobody records an SoD exception for themselves (5.3)"
            )
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(body.employee_id)
            if person is None or person.id is None:
                raise NotFoundError(f"no person with employee id {body.employee_id}")
            now = uow.clock.now()
            try:
                expires = rules.end_of_day(
                    body.end_date,
                    now,
                    self.ctx.timezone,
                    max_days=MAX_EXCEPTION_DAYS,
                    what="an SoD exception",
                )
            except rules.AccessRuleError as error:
                raise rule_error(error) from None
            if expires is None:  # an end date is required by the schema
                raise InvalidInput("an exception needs an end date", field="end_date")
            exception = SodException(
                person_id=person.id,
                employee_id=person.employee_id,
                rule_id=rule.id,
                reason=body.reason,
                expires_at=expires,
                granted_by=who.actor,
                granted_at=now,
            )
            uow.sod_exceptions.add(exception)
            uow.flush()
            uow.record(
                who.actor,
                "sod_exception.recorded",
                f"person:{person.employee_id}",
                after=exception_view(exception),
                reason=body.reason,
            )
            uow.commit()
            return exception_view(exception)

    def revoke(self, exception_id: int, who: Principal, reason: str) -> dict[str, Any]:
        if not who.has(Role.SECURITY_OFFICER):
            raise Forbidden("SoD exceptions are revoked by the security officer")
        with self.uow_factory() as uow:
            exception = uow.sod_exceptions.get(exception_id)
            if exception is None:
                raise NotFoundError(f"no SoD exception {exception_id}")
            if exception.revoked_at is not None:
                raise ConflictError(f"SoD exception {exception_id} is revoked")
            exception.revoked_at, exception.revoked_by = uow.clock.now(), who.actor
            uow.record(
                who.actor,
                "sod_exception.revoked",
                f"person:{exception.employee_id}",
                after=exception_view(exception),
                reason=reason,
            )
            uow.flush()
            person = uow.persons.get(exception.person_id)
            if person is not None:  # what it allowed ends with it (5.3)
                end_conflicting_requests(
                    uow,
                    person,
                    self.ctx.policy(),
                    self.ctx.systems,
                    actor=who.actor,
                    cause=f"sod-exception:{exception_id}:revoked",
                )
            uow.commit()
            return exception_view(exception)

    def find(self, employee_id: str | None = None) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [
                exception_view(e)
                for e in uow.sod_exceptions.all()
                if employee_id is None or e.employee_id == employee_id
            ]


def exception_view(e: SodException) -> dict[str, Any]:
    return {
        "id": e.id,
        "employee_id": e.employee_id,
        "rule_id": e.rule_id,
        "reason": e.reason,
        "expires_at": e.expires_at.isoformat(),
        "granted_by": e.granted_by,
        "granted_at": e.granted_at.isoformat(),
        "revoked_at": e.revoked_at.isoformat() if e.revoked_at else None,
        "revoked_by": e.revoked_by,
    }
