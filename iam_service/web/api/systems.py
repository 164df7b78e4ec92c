"""``/api/v1/systems``: the cloud-service register (5.23, the クラウド一覧表).

System administrators register systems and record what was checked; only
the security officer approves, rejects or suspends, never on an entry they
requested or assessed (5.3). Auditors read, and export the CSV.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.register import Actor, SystemRegistration, SystemUpdate
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/systems", tags=["systems"])
Reader = Annotated[
    Principal,
    Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)),
]
Sysadmin = Annotated[Principal, Depends(require(Role.SYSADMIN))]
SecurityOfficer = Annotated[Principal, Depends(require(Role.SECURITY_OFFICER))]


class DecisionBody(BaseModel):
    """Why the decision was taken; kept in the register and the audit trail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    comment: str = Field(min_length=1, max_length=2000)


def _actor(who: Principal) -> Actor:
    return Actor(who.actor, who.roles)


@router.get("")
async def list_systems(c: ContainerDep, _: Reader) -> dict[str, Any]:
    records = await run_in_threadpool(c.register.systems)
    return {"systems": [r.as_dict() for r in records]}


@router.get("/export.csv", response_class=Response)
async def export_csv(c: ContainerDep, _: Reader) -> Response:
    """The register as CSV for the ISMS records (UTF-8 with BOM)."""
    data = await run_in_threadpool(c.register.export_csv)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cloud-register.csv"'},
    )


@router.get("/{key}")
async def get_system(key: str, c: ContainerDep, _: Reader) -> dict[str, Any]:
    """One entry with its history (the audit records of ``system:<key>``)."""
    record, history = await run_in_threadpool(c.register.detail, key)
    return record.as_dict() | {"history": history}


@router.post("", status_code=status.HTTP_201_CREATED)
async def register_system(
    body: SystemRegistration, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Register a system by hand; it waits for approval (``requested``)."""
    record = await run_in_threadpool(c.register.register, body, _actor(who))
    return record.as_dict()


@router.patch("/{key}")
async def update_system(
    key: str, body: SystemUpdate, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    record = await run_in_threadpool(c.register.update, key, body, _actor(who))
    return record.as_dict()


@router.post("/{key}/approve")
async def approve_system(
    key: str, body: DecisionBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Approve: the system's connector may run from now on."""
    record = await run_in_threadpool(c.register.approve, key, _actor(who), body.comment)
    return record.as_dict()


@router.post("/{key}/reject")
async def reject_system(
    key: str, body: DecisionBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    record = await run_in_threadpool(c.register.reject, key, _actor(who), body.comment)
    return record.as_dict()


@router.post("/{key}/suspend")
async def suspend_system(
    key: str, body: DecisionBody, c: ContainerDep, who: SecurityOfficer
) -> dict[str, Any]:
    """Suspend an approved system: no new operation runs on it."""
    record = await run_in_threadpool(c.register.suspend, key, _actor(who), body.comment)
    return record.as_dict()


@router.post("/{key}/resubmit")
async def resubmit_system(
    key: str, body: DecisionBody, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Send a rejected system back to the security officer."""
    record = await run_in_threadpool(
        c.register.resubmit, key, _actor(who), body.comment
    )
    return record.as_dict()
