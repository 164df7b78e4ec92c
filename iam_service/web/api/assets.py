"""``/api/v1/assets``: the asset register (5.9; security cards 7.2; storage
media 7.10) and the periodic spare-card checks.

System administrators register assets (one by one or by CSV, all or
nothing), hand them out and move stock; HR and administrators record
returns; the security officer and auditors read. Errors follow the API's
shape; a refused CSV lists every bad row with its line in
``error.details`` and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from iam_service.domain.assets import AssetCreate, AssetState, AssetType, AssetUpdate
from iam_service.domain.hr import EMPLOYEE_ID_PATTERN
from iam_service.domain.security import Role
from iam_service.services.asset_import import export_csv, import_csv
from iam_service.services.asset_register import AssetMove, AssetReturn
from iam_service.services.auth import Principal
from iam_service.services.card_checks import CheckResult
from iam_service.services.csv_rows import row_details
from iam_service.services.errors import InvalidInput
from iam_service.web.api.deps import ContainerDep, require

router = APIRouter(prefix="/api/v1/assets", tags=["assets"])
Reader = Annotated[
    Principal,
    Depends(require(Role.HR, Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)),
]
Sysadmin = Annotated[Principal, Depends(require(Role.SYSADMIN))]
Receiver = Annotated[Principal, Depends(require(Role.HR, Role.SYSADMIN))]
MAX_CSV_BYTES = 10 * 1024 * 1024


class AssignBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    employee_id: str = Field(pattern=EMPLOYEE_ID_PATTERN)
    note: str = Field(default="", max_length=1000)


class InvalidCsv(InvalidInput):
    code = "invalid_csv"


@router.get("")
async def list_assets(
    c: ContainerDep,
    _: Reader,
    asset_type: Annotated[AssetType | None, Query(alias="type")] = None,
    state: AssetState | None = None,
    holder: Annotated[str | None, Query(pattern=EMPLOYEE_ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    found = await run_in_threadpool(
        c.offboarding.assets.find,
        asset_type=asset_type,
        state=state,
        holder=holder,
        limit=limit,
        offset=offset,
    )
    return {"assets": found}


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_asset(
    body: AssetCreate, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    return await run_in_threadpool(c.offboarding.assets.create, body, who.actor)


@router.get("/export.csv", response_class=Response)
async def export_assets(c: ContainerDep, _: Reader) -> Response:
    """The register as CSV (UTF-8 with BOM; imports again as it is)."""
    data = await run_in_threadpool(export_csv, c.uow)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="assets.csv"'},
    )


@router.post("/import")
async def import_assets(
    request: Request, c: ContainerDep, who: Sysadmin, dry_run: bool = False
) -> dict[str, Any]:
    """Register the assets of a CSV body (``text/csv``), all or nothing.
    ``dry_run=true`` checks the file and writes nothing."""
    raw = await request.body()
    if len(raw) > MAX_CSV_BYTES:
        raise InvalidCsv(f"the file is larger than {MAX_CSV_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidCsv("the file is not UTF-8") from None
    report = await run_in_threadpool(
        import_csv, c.uow, text, actor=who.actor, dry_run=dry_run
    )
    if report.errors:
        raise InvalidCsv(
            f"{len(report.errors)} row(s) refused; nothing was imported: "
            + "; ".join(str(e) for e in report.errors[:5]),
            details=row_details(report.errors),
        )
    return report.as_dict()


@router.get("/card-checks")
async def list_card_checks(c: ContainerDep, _: Reader) -> dict[str, Any]:
    """7.2: the periodic checks of the spare security cards, newest first."""
    return {"checks": await run_in_threadpool(c.offboarding.card_checks.all)}


@router.post("/card-checks/{check_id}/complete")
async def complete_card_check(
    check_id: int, body: CheckResult, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Account for every card of the check as present or missing."""
    return await run_in_threadpool(
        c.offboarding.card_checks.complete, check_id, body, who.actor
    )


@router.get("/{tag}")
async def get_asset(tag: str, c: ContainerDep, _: Reader) -> dict[str, Any]:
    """One asset with its holder history."""
    return await run_in_threadpool(c.offboarding.assets.detail, tag)


@router.patch("/{tag}")
async def update_asset(
    tag: str, body: AssetUpdate, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    return await run_in_threadpool(c.offboarding.assets.update, tag, body, who.actor)


@router.post("/{tag}/assign")
async def assign_asset(
    tag: str, body: AssignBody, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    return await run_in_threadpool(
        c.offboarding.assets.assign, tag, body.employee_id, who.actor, body.note
    )


@router.post("/{tag}/return")
async def return_asset(
    tag: str, body: AssetReturn, c: ContainerDep, who: Receiver
) -> dict[str, Any]:
    """``employee_id`` gave it back; 409 if they do not hold it."""
    return await run_in_threadpool(
        c.offboarding.assets.return_asset, tag, body, who.actor
    )


@router.post("/{tag}/state")
async def move_asset(
    tag: str, body: AssetMove, c: ContainerDep, who: Sysadmin
) -> dict[str, Any]:
    """Stock moves of an asset nobody holds (spare, returned, lost, disposed)."""
    return await run_in_threadpool(
        c.offboarding.assets.change_state, tag, body, who.actor
    )
