"""``/api/v1/console-roles``: who holds which console role (ADR 0013).

A security officer grants and revokes HR, system administrator, security
officer and auditor; never for themselves (403 ``segregation_of_duties``,
5.3), and never an auditor role beside an acting one (5.35). Department
heads come from ``PUT /api/v1/departments/{code}/head``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/console-roles", tags=["console roles"])
Reader = Annotated[
    Principal, Depends(require(Role.SECURITY_OFFICER, Role.SYSADMIN, Role.AUDITOR))
]
Officer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]


class RoleGrant(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN)
    role: Role
    reason: str = Field(min_length=1, max_length=2000)


class RoleRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000)


@router.get("")
async def list_roles(
    c: ContainerDep, _: Reader, role: Role | None = None
) -> dict[str, Any]:
    return {"assignments": await run_in_threadpool(c.console.roles.list, role)}


@router.post("", status_code=status.HTTP_201_CREATED)
async def grant_role(body: RoleGrant, c: ContainerDep, who: Officer) -> dict[str, Any]:
    return await run_in_threadpool(
        c.console.roles.grant, body.employee_id, body.role, who, body.reason
    )


@router.post("/{employee_id}/{role}/revoke")
async def revoke_role(
    employee_id: str, role: Role, body: RoleRevoke, c: ContainerDep, who: Officer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.console.roles.revoke, employee_id, role, who, body.reason
    )
