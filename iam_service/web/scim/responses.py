"""SCIM responses: the ``application/scim+json`` media type, the error format
(RFC 7644 §3.12) and a route class that answers every failure in it.

Every route of the SCIM router uses ``ScimRoute``, so authentication
failures (401/403 from ``require``), refused input (``ScimError``), other
service errors and request validation all reach the client as a SCIM error
with the status as a string and, where one applies, a ``scimType``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from iam_service.domain.scim_schema import ERROR
from iam_service.services.errors import ServiceError
from iam_service.services.scim_events import ScimError

MEDIA_TYPE = "application/scim+json"


class ScimResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def scim_error(
    status: int,
    detail: str,
    scim_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ScimResponse:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status)}
    if scim_type:
        body["scimType"] = scim_type
    body["detail"] = detail
    return ScimResponse(body, status_code=status, headers=dict(headers or {}))


def _from_exception(error: Exception) -> ScimResponse | None:
    if isinstance(error, ScimError):
        return scim_error(error.status_code, error.message, error.scim_type)
    if isinstance(error, ServiceError):
        return scim_error(error.status_code, error.message)
    if isinstance(error, HTTPException):
        return scim_error(error.status_code, str(error.detail), headers=error.headers)
    if isinstance(error, RequestValidationError):
        problems = "; ".join(str(p.get("msg", "")) for p in error.errors())
        return scim_error(400, problems or "invalid request", "invalidValue")
    return None


class ScimRoute(APIRoute):
    """An ``APIRoute`` whose failures are SCIM errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def scim_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as error:
                answer = _from_exception(error)
                if answer is None:
                    raise
                return answer

        return scim_handler


async def json_body(request: Request) -> Any:
    """The request body as JSON; malformed JSON is ``invalidSyntax``."""
    raw = await request.body()
    try:
        return json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        raise ScimError(400, "the body is not valid JSON", "invalidSyntax") from None


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"
