"""Departments and their heads: the department head decides the first step
of their members' access requests and the movers' reviews (5.16, 5.18).

A head comes from the policy (``departments[].head_employee_id``) when the
department is first seen, or from HR or a system administrator through
``set_head``; every change is audited (target ``department:<code>``)."""

from __future__ import annotations

from typing import Any

from iam_service.domain.model import Department, PersonStatus
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.unit_of_work import UnitOfWorkFactory


class Departments:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def all(self) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [_view(d) for d in uow.departments.all()]

    def set_head(
        self, code: str, employee_id: str | None, who: Principal, reason: str = ""
    ) -> dict[str, Any]:
        """Make ``employee_id`` (an active person) the head, or clear it."""
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            department = uow.departments.get(code)
            if department is None:
                definition = policy.department(code)
                if definition is None:
                    raise NotFoundError(f"no department {code!r}")
                department = Department(code=code, name=definition.name)
                uow.departments.add(department)
            if employee_id is not None:
                person = uow.persons.by_employee_id(employee_id)
                if person is None:
                    raise NotFoundError(f"no person with employee id {employee_id}")
                if person.status is PersonStatus.TERMINATED:
                    raise ConflictError(f"{employee_id} is terminated")
            before = department.head_employee_id
            department.head_employee_id = employee_id
            uow.record(
                who.actor,
                "department.head_set",
                f"department:{code}",
                before={"head_employee_id": before},
                after={"head_employee_id": employee_id},
                reason=reason,
            )
            uow.commit()
            return _view(department)


def _view(d: Department) -> dict[str, Any]:
    return {
        "code": d.code,
        "name": d.name,
        "head_employee_id": d.head_employee_id,
        "known_to_policy": d.known_to_policy,
    }
