"""``/api/v1/departments``: departments and their heads (5.16, 5.18).

The head decides the first step of their members' access requests and the
movers' reviews; HR or a system administrator sets them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/departments", tags=["departments"])
Reader = Annotated[
    Principal,
    Depends(
        require(
            Role.HR,
            Role.SYSADMIN,
            Role.SECURITY_OFFICER,
            Role.AUDITOR,
            Role.DEPARTMENT_HEAD,
        )
    ),
]
Writer = Annotated[Principal, Depends(require(Role.HR, Role.SYSADMIN))]


class HeadBody(BaseModel):
    """The head's employee id; ``null`` clears it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str | None = Field(min_length=1, max_length=64)
    reason: str = Field(default="", max_length=2000)


@router.get("")
async def list_departments(c: ContainerDep, _: Reader) -> dict[str, Any]:
    return {"departments": await run_in_threadpool(c.departments.all)}


@router.put("/{code}/head")
async def set_head(
    code: str, body: HeadBody, c: ContainerDep, who: Writer
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.departments.set_head, code, body.employee_id, who, body.reason
    )
