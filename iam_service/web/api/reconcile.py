"""``/api/v1/reconcile``: drift between a system and policy and grants.

A system administrator runs a reconciliation of one approved system
(``POST /{system}``, ``apply`` queues the removals and additions the
policy's ``reconciliation`` section asks for; without it, a dry run).
Readers (sysadmin, security officer, auditor) see runs and their findings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from iam_service.domain.reconciliation import FindingKind
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/reconcile", tags=["reconciliation"])
Sysadmin = Annotated[Principal, Depends(require(Role.SYSADMIN))]
Reader = Annotated[
    Principal, Depends(require(Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR))
]


class ReconcileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    apply: bool = False


@router.get("/runs")
async def list_runs(
    c: ContainerDep, _: Reader, system: str | None = None
) -> dict[str, Any]:
    return {"runs": await run_in_threadpool(c.reconciliation.runs, system)}


@router.get("/runs/{run_id}")
async def get_run(
    run_id: int,
    c: ContainerDep,
    _: Reader,
    kind: FindingKind | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One run with its findings (``kind`` filters; paged by limit/offset)."""
    return await run_in_threadpool(c.reconciliation.get, run_id, kind, limit, offset)


@router.post("/{system}")
async def reconcile(
    system: str, c: ContainerDep, who: Sysadmin, body: ReconcileBody | None = None
) -> dict[str, Any]:
    """Reconcile ``system`` now; answers with the run and its counts."""
    apply = body.apply if body else False
    run = await run_in_threadpool(
        lambda: c.reconciliation.run(system, apply=apply, actor=who.actor)
    )
    return run.view()
