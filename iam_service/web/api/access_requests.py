"""``/api/v1/access-requests`` and ``/api/v1/sod-exceptions`` (5.3, 5.16, 5.18).

Anyone signed in with an employee id may ask for themselves; a department
head asks for their members. Decisions need the step's role (department
head, sysadmin, security officer) and are refused to whoever asked, whoever
benefits and whoever decided another step (403 ``segregation_of_duties``).
An SoD conflict is a 409 ``sod_conflict`` naming the rule and its reason,
until the security officer records an exception.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from starlette.concurrency import run_in_threadpool

from iam_service.domain.access import (
    AccessRequestCreate,
    RequestStatus,
    SodExceptionCreate,
)
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.bodies import ApproveBody, ReasonBody
from iam_service.web.api.deps import ContainerDep, principal, require

router = APIRouter(prefix="/api/v1/access-requests", tags=["access requests"])
exceptions_router = APIRouter(prefix="/api/v1/sod-exceptions", tags=["access requests"])
Anyone = Annotated[Principal, Depends(principal)]
Decider = Annotated[
    Principal,
    Depends(require(Role.DEPARTMENT_HEAD, Role.SYSADMIN, Role.SECURITY_OFFICER)),
]
SecurityOfficer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]
ExceptionReader = Annotated[
    Principal,
    Depends(require(Role.SECURITY_OFFICER, Role.SYSADMIN, Role.AUDITOR)),
]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_request(
    body: AccessRequestCreate, c: ContainerDep, who: Anyone
) -> dict[str, Any]:
    return await run_in_threadpool(c.access_requests.create, body, who)


@router.get("")
async def list_requests(
    c: ContainerDep,
    who: Anyone,
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    department: str | None = None,
    mine: bool = False,
) -> dict[str, Any]:
    """Filter by ``status``, ``department``, ``mine`` (asked by or for me)."""
    found = await run_in_threadpool(
        lambda: c.access_requests.find(
            who, status=status_, department=department, mine=mine
        )
    )
    return {"requests": found}


@router.get("/{request_id}")
async def get_request(request_id: int, c: ContainerDep, who: Anyone) -> dict[str, Any]:
    """One request with its decisions; 404 for a request you may not see."""
    return await run_in_threadpool(c.access_requests.get, request_id, who)


@router.post("/{request_id}/approve")
async def approve_request(
    request_id: int, c: ContainerDep, who: Decider, body: ApproveBody | None = None
) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await run_in_threadpool(c.access_requests.approve, request_id, who, reason)


@router.post("/{request_id}/reject")
async def reject_request(
    request_id: int, body: ReasonBody, c: ContainerDep, who: Decider
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.access_requests.reject, request_id, who, body.reason
    )


@router.post("/{request_id}/cancel")
async def cancel_request(
    request_id: int, c: ContainerDep, who: Anyone, body: ApproveBody | None = None
) -> dict[str, Any]:
    """The requester or the beneficiary withdraws a pending request."""
    reason = body.reason if body else ""
    return await run_in_threadpool(c.access_requests.cancel, request_id, who, reason)


@exceptions_router.post("", status_code=status.HTTP_201_CREATED)
async def record_exception(
    body: SodExceptionCreate, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Let one person hold what one SoD rule forbids, until ``end_date``."""
    return await run_in_threadpool(c.sod_exceptions.record, body, who)


@exceptions_router.get("")
async def list_exceptions(
    c: ContainerDep, _: ExceptionReader, employee_id: str | None = None
) -> dict[str, Any]:
    found = await run_in_threadpool(c.sod_exceptions.find, employee_id)
    return {"exceptions": found}


@exceptions_router.post("/{exception_id}/revoke")
async def revoke_exception(
    exception_id: int, body: ReasonBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.sod_exceptions.revoke, exception_id, who, body.reason
    )
