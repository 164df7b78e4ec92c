"""``/scim/v2/Users``: the User endpoints (RFC 7644 §3.3-3.6, §3.14).

Callers need a bearer token with the ``hr`` role. Writes answer with the
User, its ``ETag`` and (for POST) its ``Location``; ``If-Match`` makes a
write conditional (412 when the User changed), ``If-None-Match`` on a read
answers 304 when it did not.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from iam_service import metrics
from iam_service.domain.scim_schema import LIST_RESPONSE
from iam_service.domain.scim_user import project
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.scim_events import ScimError, etag_matches
from iam_service.services.scim_inbound import ScimInbound, ScimResult
from iam_service.web.api.deps import ContainerDep, require
from iam_service.web.scim.responses import ScimResponse, ScimRoute, base_url, json_body

router = APIRouter(route_class=ScimRoute)
HrCaller = Annotated[Principal, Depends(require(Role.HR))]


def service(c: ContainerDep) -> ScimInbound:
    return ScimInbound(c.uow, c.hr_intake)


Scim = Annotated[ScimInbound, Depends(service)]


def _names(value: str | list[str] | None) -> list[str] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else value.split(",")
    return [n.strip() for n in items if n.strip()] or None


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ScimError(400, f"{name} must be an integer", "invalidValue") from None


def _shaped(request: Request, resource: dict[str, Any]) -> dict[str, Any]:
    return project(
        resource,
        _names(request.query_params.get("attributes")),
        _names(request.query_params.get("excludedAttributes")),
    )


def _answer(request: Request, result: ScimResult) -> ScimResponse:
    for kind, status in result.events:
        metrics.HR_EVENTS.labels(kind, status).inc()
    headers = {"ETag": result.version}
    if result.status == 201:
        headers["Location"] = result.resource["meta"]["location"]
    return ScimResponse(
        _shaped(request, result.resource), status_code=result.status, headers=headers
    )


async def _search(
    request: Request, scim: ScimInbound, params: dict[str, Any]
) -> ScimResponse:
    page = await run_in_threadpool(
        scim.search,
        filter_text=params.get("filter"),
        start_index=params.get("startIndex"),
        count=params.get("count"),
        base_url=base_url(request),
    )
    attributes = _names(params.get("attributes"))
    excluded = _names(params.get("excludedAttributes"))
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE],
            "totalResults": page.total,
            "itemsPerPage": len(page.resources),
            "startIndex": page.start_index,
            "Resources": [project(r, attributes, excluded) for r in page.resources],
        }
    )


@router.get("/Users")
async def list_users(request: Request, scim: Scim, _: HrCaller) -> Response:
    """Users matching ``filter``, paged by ``startIndex`` and ``count``."""
    params: dict[str, Any] = dict(request.query_params)
    params["startIndex"] = _int(request, "startIndex")
    params["count"] = _int(request, "count")
    return await _search(request, scim, params)


@router.post("/Users/.search")
@router.post("/.search")
async def search_users(request: Request, scim: Scim, _: HrCaller) -> Response:
    """A SearchRequest in the body (RFC 7644 §3.4.3); Users are the only
    resource type, so the server-root search is the same search."""
    body = await json_body(request)
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a SearchRequest", "invalidSyntax")
    for name in ("startIndex", "count"):
        if body.get(name) is not None and not isinstance(body[name], int):
            raise ScimError(400, f"{name} must be an integer", "invalidValue")
    return await _search(request, scim, body)


@router.post("/Users")
async def create_user(request: Request, scim: Scim, who: HrCaller) -> Response:
    """A hire (or the rehire of a deleted User): 201 with the User."""
    body = await json_body(request)
    result = await run_in_threadpool(
        scim.create, body, actor=who.actor, base_url=base_url(request)
    )
    return _answer(request, result)


@router.get("/Users/{user_id}")
async def get_user(user_id: str, request: Request, scim: Scim, _: HrCaller) -> Response:
    resource = await run_in_threadpool(scim.get, user_id, base_url=base_url(request))
    version = resource["meta"]["version"]
    unchanged = request.headers.get("if-none-match")
    if unchanged is not None and etag_matches(unchanged, version):
        return Response(status_code=304, headers={"ETag": version})
    return ScimResponse(_shaped(request, resource), headers={"ETag": version})


@router.put("/Users/{user_id}")
async def replace_user(
    user_id: str, request: Request, scim: Scim, who: HrCaller
) -> Response:
    body = await json_body(request)
    result = await run_in_threadpool(
        scim.replace,
        user_id,
        body,
        if_match=request.headers.get("if-match"),
        actor=who.actor,
        base_url=base_url(request),
    )
    return _answer(request, result)


@router.patch("/Users/{user_id}")
async def patch_user(
    user_id: str, request: Request, scim: Scim, who: HrCaller
) -> Response:
    body = await json_body(request)
    result = await run_in_threadpool(
        scim.patch,
        user_id,
        body,
        if_match=request.headers.get("if-match"),
        actor=who.actor,
        base_url=base_url(request),
    )
    return _answer(request, result)


@router.delete("/Users/{user_id}", status_code=204)
async def delete_user(
    user_id: str, request: Request, scim: Scim, who: HrCaller
) -> Response:
    """A termination; the User answers 404 from then on, the person stays."""
    events = await run_in_threadpool(
        scim.delete, user_id, if_match=request.headers.get("if-match"), actor=who.actor
    )
    for kind, status in events:
        metrics.HR_EVENTS.labels(kind, status).inc()
    return Response(status_code=204)
