"""The web console: server-rendered pages (Jinja2, htmx) for every role.

``install_console(app)`` adds the session middleware (sessions, CSRF,
language), the page routers listed in ``PAGE_MODULES``, their navigation
entries and home sections, the static files and the HTML error pages.
How to add a page: ``docs/console.md``.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from iam_service.services.errors import ServiceError
from iam_service.settings import REPO_ROOT
from iam_service.web.ui.guard import NotAllowed, SignInRequired
from iam_service.web.ui.i18n import catalogue
from iam_service.web.ui.nav import Registry
from iam_service.web.ui.rendering import render
from iam_service.web.ui.session import ConsoleSessionMiddleware

# One line per page module in iam_service/web/ui/pages/ (in this order).
PAGE_MODULES: tuple[str, ...] = (
    "auth",
    "home",
    "people",
    "operations",
    "systems",
    "audit",
    "roles",
    "reviews",
    "offboarding",
    "assets",
    "passwords",
    "handovers",  # before privileged: /console/privileged/handovers
    "privileged",
)
STATIC = Path(__file__).parent / "static"
# Third-party browser code comes from npm (package.json), never the repo.
VENDOR = {
    "htmx.min.js": REPO_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
}


def install_console(app: FastAPI) -> None:
    registry = Registry()
    for name in PAGE_MODULES:
        module = importlib.import_module(f"iam_service.web.ui.pages.{name}")
        app.include_router(module.router)
        registry.add_nav(getattr(module, "NAV", ()))
        registry.add_sections(getattr(module, "SECTIONS", ()))
    app.state.console_registry = registry
    for lang in ("ja", "en"):
        catalogue(lang)  # a broken catalogue stops start-up, not a page

    @app.get("/static/vendor/{name}", include_in_schema=False)
    def vendor(name: str) -> Response:
        path = VENDOR.get(name)
        if path is None or not path.is_file():
            return Response("not installed (make install runs npm ci)", status_code=404)
        return FileResponse(path, headers={"cache-control": "public, max-age=86400"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    _install_error_pages(app)
    app.add_middleware(ConsoleSessionMiddleware, container=app.state.container)


def _install_error_pages(app: FastAPI) -> None:
    """HTML errors for console paths; the API keeps its JSON errors."""
    json_service = app.exception_handlers[ServiceError]
    json_http = app.exception_handlers[HTTPException]
    json_invalid = app.exception_handlers[RequestValidationError]

    async def service_error(request: Request, error: Exception) -> Any:
        if not _is_console(request) or not isinstance(error, ServiceError):
            return await _call(json_service, request, error)
        return render(
            request,
            "error.html",
            {"status": error.status_code, "message": error.message},
            status_code=error.status_code,
        )

    async def http_error(request: Request, error: Exception) -> Any:
        if isinstance(error, SignInRequired):
            if request.headers.get("hx-request") == "true":
                return Response(
                    status_code=200, headers={"HX-Redirect": error.location}
                )
            return RedirectResponse(error.location, status_code=303)
        if not _is_console(request) or not isinstance(error, HTTPException):
            return await _call(json_http, request, error)
        roles = error.roles if isinstance(error, NotAllowed) else ()
        return render(
            request,
            "error.html",
            {"status": error.status_code, "roles": roles},
            status_code=error.status_code,
        )

    async def invalid(request: Request, error: Exception) -> Any:
        if not _is_console(request):
            return await _call(json_invalid, request, error)
        return render(request, "error.html", {"status": 422}, status_code=422)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)


async def _call(handler: Any, request: Request, error: Exception) -> Any:
    result = handler(request, error)
    return await result if inspect.isawaitable(result) else result


def _is_console(request: Request) -> bool:
    return request.url.path.startswith("/console")
