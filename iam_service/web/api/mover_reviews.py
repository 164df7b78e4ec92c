"""``/api/v1/mover-reviews``: after a transfer the new department head keeps
or removes what the person was granted on request before (5.18); undecided
grants are removed at the deadline by a scheduled job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.movers import MoverDecision, MoverReviewStatus
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/mover-reviews", tags=["movers"])
Reader = Annotated[
    Principal,
    Depends(
        require(
            Role.DEPARTMENT_HEAD, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR
        )
    ),
]
Head = Annotated[Principal, Depends(require(Role.DEPARTMENT_HEAD))]


class DecisionBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: MoverDecision
    reason: str = Field(min_length=1, max_length=2000)


@router.get("")
async def list_reviews(
    c: ContainerDep,
    who: Reader,
    status_: Annotated[MoverReviewStatus | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    """A department head sees their departments' reviews; readers all."""
    found = await run_in_threadpool(c.mover_reviews.find, who, status_)
    return {"reviews": found}


@router.post("/{review_id}/decision")
async def decide(
    review_id: int, body: DecisionBody, c: ContainerDep, who: Head
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.mover_reviews.decide, review_id, body.decision, who, body.reason
    )
