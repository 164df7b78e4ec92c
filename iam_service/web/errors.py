"""One error shape for the API: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from iam_service.services.errors import ServiceError


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, error: ServiceError) -> JSONResponse:
        details = error.details or (
            [{"field": error.field, "message": error.message}] if error.field else []
        )
        return JSONResponse(
            error_body(error.code, error.message, details),
            status_code=error.status_code,
        )

    @app.exception_handler(HTTPException)
    async def _http(_: Request, error: HTTPException) -> JSONResponse:
        codes = {
            401: "unauthorised",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            410: "gone",
        }
        return JSONResponse(
            error_body(codes.get(error.status_code, "error"), str(error.detail)),
            status_code=error.status_code,
            headers=error.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = list(error.errors())
        if any(p.get("type") == "json_invalid" for p in problems):
            return JSONResponse(
                error_body("malformed_json", "the body is not valid JSON"),
                status_code=400,
            )
        details = [
            {
                "field": ".".join(str(x) for x in p.get("loc", ()) if x != "body"),
                "message": str(p.get("msg", "")),
            }
            for p in problems
        ]
        summary = "; ".join(f"{d['field'] or 'body'}: {d['message']}" for d in details)
        return JSONResponse(error_body("invalid", summary, details), status_code=422)
