"""``/api/v1/policy``: plans and versions of the access policy (8.32).

A version is proposed with the files' text, shown with its plan (who would
gain and lose what), and activated by someone other than the proposer
(5.3); a version removing access from more than the policy's share of
people is activated only by the security officer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.policy_versions import PolicyVersion
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.policy_versions import PolicyInvalid
from iam_service.web.api.deps import ContainerDep, require
from iam_service.web.errors import error_body

router = APIRouter(prefix="/api/v1/policy", tags=["policy"])
Reader = Annotated[
    Principal,
    Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)),
]
Changer = Annotated[Principal, Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER))]


class PolicyFiles(BaseModel):
    """The policy files by name (``catalogue.yaml``: its YAML text)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(min_length=1)
    reason: str = Field(default="", max_length=2000)


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", max_length=2000)


def version_view(v: PolicyVersion, *, files: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": v.id,
        "state": str(v.state),
        "content_hash": v.content_hash,
        "proposed_by": v.proposed_by,
        "proposed_at": v.proposed_at.isoformat(),
        "reason": v.reason,
        "needs_security_officer": v.needs_security_officer,
        "approved_by": v.approved_by,
        "approver_role": v.approver_role,
        "approved_at": v.approved_at.isoformat() if v.approved_at else None,
        "activated_at": v.activated_at.isoformat() if v.activated_at else None,
        "decision_reason": v.decision_reason,
        "diff": v.diff,
    }
    if files:
        view["files"] = v.files
    return view


def _invalid(error: PolicyInvalid) -> JSONResponse:
    details = [{"field": "files", "message": p} for p in error.problems]
    return JSONResponse(error_body(error.code, error.message, details), 422)


@router.post("/plan")
async def plan(body: PolicyFiles, c: ContainerDep, _: Reader) -> Any:
    """What activating these files would grant and remove, per person."""
    try:
        found = await run_in_threadpool(c.policy_versions.plan, body.files)
    except PolicyInvalid as error:
        return _invalid(error)
    return found.as_dict()


@router.get("/versions")
async def list_versions(c: ContainerDep, _: Reader) -> dict[str, Any]:
    versions = await run_in_threadpool(c.policy_versions.versions)
    return {"versions": [version_view(v) for v in versions]}


@router.get("/versions/{version_id}")
async def get_version(version_id: int, c: ContainerDep, _: Reader) -> dict[str, Any]:
    version = await run_in_threadpool(c.policy_versions.get, version_id)
    return version_view(version, files=True)


@router.post("/versions", status_code=status.HTTP_201_CREATED)
async def propose(body: PolicyFiles, c: ContainerDep, who: Changer) -> Any:
    try:
        proposal = await run_in_threadpool(
            lambda: c.policy_versions.propose(
                body.files, actor=who.actor, reason=body.reason
            )
        )
    except PolicyInvalid as error:
        return _invalid(error)
    return version_view(proposal.version)


@router.post("/versions/{version_id}/activate")
async def activate(
    version_id: int, c: ContainerDep, who: Changer, body: DecisionBody | None = None
) -> dict[str, Any]:
    """Approve and activate: the new birthright is queued for everyone."""
    proposal = await run_in_threadpool(
        lambda: c.policy_versions.activate(
            version_id,
            approver=who.actor,
            roles=who.roles,
            reason=body.reason if body else "",
        )
    )
    return version_view(proposal.version)


@router.post("/versions/{version_id}/reject")
async def reject(
    version_id: int, c: ContainerDep, who: Changer, body: DecisionBody | None = None
) -> dict[str, Any]:
    version = await run_in_threadpool(
        lambda: c.policy_versions.reject(
            version_id, actor=who.actor, reason=body.reason if body else ""
        )
    )
    return version_view(version)
