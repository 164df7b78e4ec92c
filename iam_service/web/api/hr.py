"""``POST /api/v1/hr/events``: HR reports hires, updates, terminations, rehires."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from starlette.concurrency import run_in_threadpool

from iam_service import metrics
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/hr", tags=["hr"])


@router.post("/events", status_code=status.HTTP_202_ACCEPTED)
async def post_event(
    event: HrEvent,
    c: ContainerDep,
    who: Annotated[Principal, Depends(require(Role.HR))],
) -> dict[str, Any]:
    """Accept one HR event. 202 with the event's status; the same
    ``event_id`` again returns the same body and changes nothing."""
    result = await run_in_threadpool(c.hr_intake.submit, event, actor=who.actor)
    metrics.HR_EVENTS.labels(str(event.type), str(result["status"])).inc()
    return result
