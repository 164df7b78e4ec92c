"""``/scim/v2/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas``
(RFC 7644 §4), and SCIM errors for paths and methods that do not exist."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from iam_service.domain.scim_discovery import (
    ALL_SCHEMAS,
    list_response,
    schema_by_id,
    service_provider_config,
    user_resource_type,
)
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.scim_events import ScimError
from iam_service.web.api.deps import require
from iam_service.web.scim.responses import ScimResponse, ScimRoute, base_url, scim_error

router = APIRouter(route_class=ScimRoute)
HrCaller = Annotated[Principal, Depends(require(Role.HR))]
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
# Paths that exist, with the methods they answer: anything else is 404/405.
_KNOWN = (
    (re.compile(r"^/(ServiceProviderConfig|ResourceTypes|Schemas)(/[^/]+)?$"), "GET"),
    (re.compile(r"^/Users$"), "GET, POST"),
    (re.compile(r"^/Users/\.search$|^/\.search$"), "POST"),
    (re.compile(r"^/Users/[^/]+$"), "GET, PUT, PATCH, DELETE"),
)


def _no_filter(request: Request) -> None:
    # RFC 7644 §4: a filter here must not look as if it had been applied.
    if "filter" in request.query_params:
        raise ScimError(403, "filtering is not supported on this endpoint")


@router.get("/ServiceProviderConfig")
async def get_service_provider_config(request: Request, _: HrCaller) -> Response:
    return ScimResponse(service_provider_config(base_url(request)))


@router.get("/ResourceTypes")
async def list_resource_types(request: Request, _: HrCaller) -> Response:
    _no_filter(request)
    return ScimResponse(list_response([user_resource_type(base_url(request))]))


@router.get("/ResourceTypes/{type_id}")
async def get_resource_type(type_id: str, request: Request, _: HrCaller) -> Response:
    if type_id != "User":
        raise ScimError(404, f"no resource type {type_id}")
    return ScimResponse(user_resource_type(base_url(request)))


@router.get("/Schemas")
async def list_schemas(request: Request, _: HrCaller) -> Response:
    _no_filter(request)
    here = base_url(request)
    return ScimResponse(list_response([s.to_scim(here) for s in ALL_SCHEMAS]))


@router.get("/Schemas/{schema_id}")
async def get_schema(schema_id: str, request: Request, _: HrCaller) -> Response:
    found = schema_by_id(schema_id)
    if found is None:
        raise ScimError(404, f"no schema {schema_id}")
    return ScimResponse(found.to_scim(base_url(request)))


@router.api_route("/{rest:path}", methods=_METHODS, include_in_schema=False)
async def elsewhere(rest: str, request: Request, _: HrCaller) -> Response:
    """Registered last: a known path with another method is 405, the rest 404."""
    path = "/" + rest
    for pattern, allowed in _KNOWN:
        if pattern.match(path):
            return scim_error(
                405,
                f"{request.method} is not allowed on {path}",
                headers={"Allow": allowed},
            )
    return scim_error(404, f"no SCIM endpoint {path}")
