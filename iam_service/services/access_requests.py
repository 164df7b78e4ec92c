"""Access requests: ask, decide step by step, provision (5.3, 5.16, 5.18, 8.3).

Contract of each use case (one transaction; a refusal raises a
``ServiceError`` and writes nothing):

* ``create``: the person, or the head of their department, asks for a
  requestable entitlement or role with a justification and an optional end
  date (required where the entitlement has a maximum duration). Unknown
  items, past or too distant end dates are 422; already held, already
  pending, a terminated beneficiary, a department without a head, or an SoD
  conflict without the security officer's exception are 409.
* ``approve`` / ``reject``: the step waiting is decided by someone in that
  step's role (the department head: the head of the beneficiary's
  department), never by the requester, the beneficiary or someone who
  decided another step (403). The last approval re-checks SoD, then writes
  ``Grant(source=REQUEST, source_ref=<request id>, expires_at=<end>)`` and
  queues the group operations through the ``Provisioner``.
* ``cancel``: the requester or the beneficiary withdraws a pending request.

Every step is audited (target ``access_request:<id>``). Removing grants
whose end date passed is the expiry job's (``services/grant_expiry.py``).
"""

from __future__ import annotations

from typing import Any

from iam_service.domain import access as rules
from iam_service.domain.access import (
    AccessRequest,
    AccessRequestCreate,
    Decider,
    Decision,
    RequestDecision,
    RequestStatus,
)
from iam_service.domain.entitlements import (
    effective_entitlements,
)
from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.policy import Approver
from iam_service.services.access_grants import (
    SodConflictError,
    audit,
    close,
    grant_request,
    refuse_conflicts,
)
from iam_service.services.access_views import (
    READ_ALL,
    request_view,
    rule_error,
    visible,
)
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, Forbidden, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class AccessRequests:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    # -- asking -----------------------------------------------------------
    def create(self, body: AccessRequestCreate, who: Principal) -> dict[str, Any]:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            person = _beneficiary(uow, body.employee_id)
            head = _head_of(uow, person.department_code)
            if who.employee_id is None or who.employee_id not in (
                person.employee_id,
                head,
            ):
                raise Forbidden(
                    "a request is made by the person or the head of their "
                    "department (5.16), as a principal with an employee id"
                )
            try:
                item = rules.resolve_item(policy, body.kind, body.item)
                now = uow.clock.now()
                ends_at = rules.end_of_day(
                    body.end_date,
                    now,
                    self.ctx.timezone,
                    max_days=item.max_duration_days,
                    what=item.item,
                )
            except rules.AccessRuleError as error:
                raise rule_error(error) from None
            held = effective_entitlements(
                uow.grants.active_for_person(_id(person)), now
            )
            if set(item.refs) <= held:
                raise ConflictError(f"{person.employee_id} already holds {item.item}")
            _no_pending_twin(uow, person, item.item)
            refuse_conflicts(uow, person, policy, held, item.refs)
            decider = rules.head_step_decider(
                head, person.employee_id, person.manager_employee_id
            )
            if Approver.DEPARTMENT_HEAD in item.chain and decider is None:
                raise ConflictError(
                    f"department {person.department_code} has no head to approve "
                    "the request; set one (PUT /api/v1/departments/"
                    f"{person.department_code}/head)"
                )
            request = AccessRequest(
                person_id=_id(person),
                employee_id=person.employee_id,
                department_code=person.department_code,
                kind=item.kind,
                item=item.item,
                entitlement_refs=list(item.refs),
                justification=body.justification,
                classification=item.classification,
                privileged=item.privileged,
                chain=[str(a) for a in item.chain],
                requested_by=who.actor,
                requested_by_employee_id=who.employee_id,
                created_at=now,
                updated_at=now,
                ends_at=ends_at,
            )
            uow.access_requests.add(request)
            uow.flush()
            audit(uow, who.actor, "access_request.created", request, body.justification)
            if request.waiting_for is Approver.DEPARTMENT_HEAD and (
                who.employee_id == decider
            ):
                # The head applying for a member is the department's word (5.16).
                self._step(uow, request, who, Decision.APPLIED, "applied by the head")
            view = request_view(request, uow.access_requests.decisions(_rid(request)))
            uow.commit()
            return view

    # -- deciding ---------------------------------------------------------
    def approve(
        self, request_id: int, who: Principal, reason: str = ""
    ) -> dict[str, Any]:
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            request = self._decidable(uow, request_id, who)
            self._step(uow, request, who, Decision.APPROVED, reason)
            if request.waiting_for is None:
                grant_request(uow, request, policy, self.ctx.systems, actor=who.actor)
            view = request_view(request, uow.access_requests.decisions(request_id))
            uow.commit()
            return view

    def reject(self, request_id: int, who: Principal, reason: str) -> dict[str, Any]:
        with self.uow_factory() as uow:
            request = self._decidable(uow, request_id, who)
            self._step(uow, request, who, Decision.REJECTED, reason)
            close(uow, request, who.actor, RequestStatus.REJECTED, reason)
            view = request_view(request, uow.access_requests.decisions(request_id))
            uow.commit()
            return view

    def cancel(
        self, request_id: int, who: Principal, reason: str = ""
    ) -> dict[str, Any]:
        with self.uow_factory() as uow:
            request = self._get(uow, request_id, who)
            try:
                rules.may_cancel(request, who.actor, who.employee_id)
            except rules.AccessRuleError as error:
                raise rule_error(error) from None
            close(uow, request, who.actor, RequestStatus.CANCELLED, reason)
            view = request_view(request, uow.access_requests.decisions(request_id))
            uow.commit()
            return view

    # -- reading ----------------------------------------------------------
    def get(self, request_id: int, who: Principal) -> dict[str, Any]:
        with self.uow_factory() as uow:
            request = self._get(uow, request_id, who, lock=False)
            return request_view(request, uow.access_requests.decisions(request_id))

    def find(
        self,
        who: Principal,
        *,
        status: RequestStatus | None = None,
        department: str | None = None,
        mine: bool = False,
    ) -> list[dict[str, Any]]:
        """Readers (sysadmin, security officer, auditor) see every request; a
        department head their departments' and their own; anyone else (or
        anyone asking for ``mine``) those asked by or for them."""
        with self.uow_factory() as uow:
            if who.has(*READ_ALL) and not mine:
                found = uow.access_requests.find(status=status, department=department)
            else:
                headed = uow.departments.headed_by(who.employee_id or "")
                found = uow.access_requests.find(
                    status=status,
                    department=department,
                    scope_departments=() if mine or who.employee_id is None else headed,
                    involving=who.actor,
                    employee_id=who.employee_id,
                )
            return [request_view(r, None) for r in found]

    # -- helpers ----------------------------------------------------------
    def _get(
        self, uow: UnitOfWork, request_id: int, who: Principal, *, lock: bool = True
    ) -> AccessRequest:
        request = uow.access_requests.get(request_id, lock=lock)
        if request is None or not visible(uow, request, who):
            raise NotFoundError(f"no access request {request_id}")
        return request

    def _decidable(
        self, uow: UnitOfWork, request_id: int, who: Principal
    ) -> AccessRequest:
        request = self._get(uow, request_id, who)
        person = uow.persons.get(request.person_id)
        head = _head_of(uow, request.department_code)
        manager = person.manager_employee_id if person else None
        try:
            rules.check_decider(
                request,
                Decider(who.actor, who.employee_id, who.roles),
                rules.head_step_decider(head, request.employee_id, manager),
                uow.access_requests.decisions(request_id),
            )
        except rules.AccessRuleError as error:
            raise rule_error(error) from None
        return request

    @staticmethod
    def _step(
        uow: UnitOfWork,
        request: AccessRequest,
        who: Principal,
        decision: Decision,
        reason: str,
    ) -> None:
        approver = request.waiting_for
        uow.access_requests.add_decision(
            RequestDecision(
                request_id=_rid(request),
                step=request.step,
                approver=str(approver),
                decision=decision,
                decided_by=who.actor,
                decided_by_employee_id=who.employee_id,
                reason=reason,
                at=uow.clock.now(),
            )
        )
        if decision is not Decision.REJECTED:
            request.step += 1
        request.updated_at = uow.clock.now()
        audit(uow, who.actor, f"access_request.step_{decision}", request, reason)
        uow.flush()


def _beneficiary(uow: UnitOfWork, employee_id: str) -> Person:
    person = uow.persons.by_employee_id(employee_id, lock=True)
    if person is None:
        raise NotFoundError(f"no person with employee id {employee_id}")
    if person.status is PersonStatus.TERMINATED:
        raise ConflictError(f"{employee_id} is terminated; nothing can be granted")
    return person


def _head_of(uow: UnitOfWork, code: str) -> str | None:
    department = uow.departments.get(code)
    return department.head_employee_id if department else None


def _no_pending_twin(uow: UnitOfWork, person: Person, item: str) -> None:
    for other in uow.access_requests.find(
        status=RequestStatus.PENDING, person_id=_id(person)
    ):
        if other.item == item:
            raise ConflictError(
                f"request {other.id} for {item} is already pending for "
                f"{person.employee_id}"
            )


def _id(person: Person) -> int:
    if person.id is None:
        raise RuntimeError("flush the person first")
    return person.id


def _rid(request: AccessRequest) -> int:
    if request.id is None:
        raise RuntimeError("flush the request first")
    return request.id


__all__ = ["AccessRequests", "SodConflictError"]  # the 409 others catch
