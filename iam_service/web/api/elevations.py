"""``/api/v1/elevations``: time-boxed privileged elevation and break-glass
use (8.2, 8.18, 5.3).

A system administrator asks (``POST``) or, when the security officer cannot
be reached, takes at once (``POST /break-glass``); the security officer
approves or rejects a request and ratifies or refuses a break-glass use
after the fact, never their own (403 ``segregation_of_duties``). Readers
(sysadmin, security officer, auditor) see the privileged view; ``active``
keeps what is in force now.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from starlette.concurrency import run_in_threadpool

from iam_service.domain.elevation import ElevationCreate, ElevationStatus
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.bodies import ApproveBody, ReasonBody
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/elevations", tags=["privileged elevation"])
Sysadmin = Annotated[Principal, Depends(require(Role.SYSADMIN))]
SecurityOfficer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]
Ender = Annotated[Principal, Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER))]
Reader = Annotated[
    Principal, Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR))
]


@router.post("", status_code=status.HTTP_201_CREATED)
async def request_elevation(
    body: ElevationCreate, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Ask for a privileged entitlement for ``hours`` (at most the policy's
    ``elevation.max_hours``) with a reason; the security officer decides."""
    return await run_in_threadpool(c.elevations.request, body, who)


@router.post("/break-glass", status_code=status.HTTP_201_CREATED)
async def break_glass(
    body: ElevationCreate, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Take it at once (at most ``elevation.break_glass_max_hours``); the
    security officer is told now and ratifies it after the fact."""
    return await run_in_threadpool(c.elevations.break_glass, body, who)


@router.get("")
async def list_elevations(
    c: ContainerDep,
    _: Reader,
    active: bool = False,
    status_: Annotated[ElevationStatus | None, Query(alias="status")] = None,
    employee_id: str | None = None,
    unratified: bool = False,
) -> dict[str, Any]:
    """Newest first; ``active``: in force now; ``unratified``: break-glass
    uses waiting for the security officer."""
    found = await run_in_threadpool(
        lambda: c.elevations.find(
            active=active,
            status=status_,
            employee_id=employee_id,
            unratified=unratified,
        )
    )
    return {"elevations": found}


@router.get("/{elevation_id}")
async def get_elevation(
    elevation_id: int, c: ContainerDep, _: Reader
) -> dict[str, Any]:
    return await run_in_threadpool(c.elevations.get, elevation_id)


@router.post("/{elevation_id}/approve")
async def approve_elevation(
    elevation_id: int,
    c: ContainerDep,
    who: SecurityOfficer,
    body: ApproveBody | None = None,
) -> dict[str, Any]:
    reason = body.reason if body else ""
    return await run_in_threadpool(c.elevations.approve, elevation_id, who, reason)


@router.post("/{elevation_id}/reject")
async def reject_elevation(
    elevation_id: int, body: ReasonBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Refuse a pending request, or an unratified break-glass use (which
    ends at once)."""
    return await run_in_threadpool(c.elevations.reject, elevation_id, who, body.reason)


@router.post("/{elevation_id}/ratify")
async def ratify_elevation(
    elevation_id: int, body: ReasonBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Approve a break-glass use after the fact; its escalation stops."""
    return await run_in_threadpool(c.elevations.ratify, elevation_id, who, body.reason)


@router.post("/{elevation_id}/end")
async def end_elevation(
    elevation_id: int, body: ReasonBody, c: ContainerDep, who: Ender
) -> dict[str, Any]:
    """End an active elevation now (the group is removed through the queue),
    or withdraw a pending request."""
    return await run_in_threadpool(c.elevations.end, elevation_id, who, body.reason)
