"""Who holds which console role (ADR 0013).

* department head: whoever heads a department (``departments``; set by HR or
  a system administrator through ``PUT /api/v1/departments/{code}/head``);
* HR, system administrator, security officer, auditor: an assignment here,
  granted and revoked by a security officer (``/api/v1/console-roles``) or an
  operator (``iamctl roles grant``), audited with a reason. Nobody grants or
  revokes a role of their own (5.3), and an auditor holds no role that
  changes things (5.35).

Only active people hold roles: a terminated person holds none, whatever the
table says, and every request checks again (``roles_of``).
"""

from __future__ import annotations

from typing import Any

from iam_service.domain.console import ASSIGNABLE_ROLES, RoleAssignment, roles_conflict
from iam_service.domain.model import PersonStatus
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFoundError,
)
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class SegregationOfDuties(Forbidden):
    code = "segregation_of_duties"


def roles_of(uow: UnitOfWork, employee_id: str) -> frozenset[Role]:
    """The console roles an active person holds now; none for anyone else."""
    person = uow.persons.by_employee_id(employee_id)
    if person is None or person.status is not PersonStatus.ACTIVE:
        return frozenset()
    roles = {a.role for a in uow.role_assignments.active_for(employee_id)}
    if uow.departments.headed_by(employee_id):
        roles.add(Role.DEPARTMENT_HEAD)
    return frozenset(roles)


class ConsoleRoles:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self.uow_factory = uow_factory

    def list(self, role: Role | None = None) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [_view(a) for a in uow.role_assignments.active(role)]

    def roles(self, employee_id: str) -> frozenset[Role]:
        with self.uow_factory() as uow:
            return roles_of(uow, employee_id)

    def grant(
        self, employee_id: str, role: Role, who: Principal, reason: str
    ) -> dict[str, Any]:
        """Give ``role`` to an active person; 409 if they hold it already."""
        if role not in ASSIGNABLE_ROLES:
            raise InvalidInput(
                "a department head is whoever heads a department: set it with "
                "PUT /api/v1/departments/{code}/head",
                field="role",
            )
        if not reason.strip():
            raise InvalidInput("say why the role is given", field="reason")
        _not_self(who, employee_id)
        with self.uow_factory() as uow:
            person = uow.persons.by_employee_id(employee_id)
            if person is None:
                raise NotFoundError(f"no person with employee id {employee_id}")
            if person.status is not PersonStatus.ACTIVE:
                raise ConflictError(f"{employee_id} is {person.status}, not active")
            held = frozenset(
                a.role for a in uow.role_assignments.active_for(employee_id)
            )
            if role in held:
                raise ConflictError(f"{employee_id} holds {role} already")
            problem = roles_conflict(held, role)
            if problem is not None:
                raise SegregationOfDuties(problem)
            assignment = RoleAssignment(
                employee_id=employee_id,
                role=role,
                granted_by=who.actor,
                granted_by_employee_id=who.employee_id,
                granted_at=uow.clock.now(),
                reason=reason.strip(),
            )
            uow.role_assignments.add(assignment)
            uow.flush()
            uow.record(
                who.actor,
                "console_role.granted",
                f"person:{employee_id}",
                after={"role": str(role), "assignment": assignment.id},
                reason=reason.strip(),
            )
            uow.commit()
            return _view(assignment)

    def revoke(
        self, employee_id: str, role: Role, who: Principal, reason: str
    ) -> dict[str, Any]:
        if not reason.strip():
            raise InvalidInput("say why the role is taken away", field="reason")
        _not_self(who, employee_id)
        with self.uow_factory() as uow:
            found = [
                a
                for a in uow.role_assignments.active_for(employee_id)
                if a.role == role
            ]
            if not found:
                raise NotFoundError(f"{employee_id} does not hold {role}")
            now = uow.clock.now()
            for assignment in found:
                assignment.revoked_at, assignment.revoked_by = now, who.actor
                assignment.revoke_reason = reason.strip()
            uow.record(
                who.actor,
                "console_role.revoked",
                f"person:{employee_id}",
                before={"role": str(role)},
                reason=reason.strip(),
            )
            uow.commit()
            return _view(found[0])


def _not_self(who: Principal, employee_id: str) -> None:
    # 5.3: a role is never given or taken by the person who holds it.
    if who.employee_id is not None and who.employee_id == employee_id:
        raise SegregationOfDuties("nobody grants or revokes a role of their own")


def _view(a: RoleAssignment) -> dict[str, Any]:
    return {
        "id": a.id,
        "employee_id": a.employee_id,
        "role": str(a.role),
        "granted_by": a.granted_by,
        "granted_at": a.granted_at.isoformat(),
        "reason": a.reason,
        "revoked_at": a.revoked_at.isoformat() if a.revoked_at else None,
        "revoked_by": a.revoked_by,
    }
