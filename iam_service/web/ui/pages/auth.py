"""Sign-in (Entra ID SSO, break-glass account with TOTP), sign-out, the
language switch and the role switch."""

from __future__ import annotations

import base64
import io
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.console import OidcError
from iam_service.domain.security import Role
from iam_service.services.console_sessions import Client
from iam_service.services.errors import ServiceError
from iam_service.services.local_sign_in import Enrolment
from iam_service.web.ui.guard import Viewer, console_request
from iam_service.web.ui.i18n import LANG_COOKIE, LANGUAGES
from iam_service.web.ui.rendering import render, see_other
from iam_service.web.ui.session import CookieNames

router = APIRouter(prefix="/console", include_in_schema=False)
CALLBACK = "/console/sign-in/callback"
_FLOW_SECONDS = 600


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _cookies(request: Request) -> CookieNames:
    return CookieNames.for_settings(_container(request).settings.session_cookie_secure)


def _client(request: Request) -> Client:
    host = request.client.host if request.client else "unknown"
    return Client(host, request.headers.get("user-agent", ""))


def safe_next(value: str | None) -> str:
    """Only a path of this console: never another site (open redirect)."""
    if (
        value
        and value.startswith("/console")
        and "//" not in value
        and "\\" not in value
    ):
        return value
    return "/console/"


def _signed_in(request: Request, token: str, next_path: str) -> RedirectResponse:
    names = _cookies(request)
    response = see_other(safe_next(next_path))
    response.headers.append("set-cookie", names.header(names.session, token).decode())
    response.headers.append("set-cookie", names.clear(names.pre).decode())
    response.headers.append("set-cookie", names.clear(names.flow).decode())
    return response


@router.get("/sign-in")
def sign_in_page(
    request: Request, next: str = "/console/", reauth: bool = False
) -> Response:
    # reauth=1: sign in again although signed in (a one-time password link
    # needs a recent sign-in); the new session replaces this one.
    if console_request(request).session is not None and not reauth:
        return see_other(safe_next(next))
    return _sign_in_form(request, next)


def _sign_in_form(
    request: Request,
    next_path: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    c = _container(request)
    return render(
        request,
        "sign_in.html",
        {
            "next": safe_next(next_path),
            "error": error,
            "sso_enabled": c.console.sso is not None,
        },
        status_code=status_code,
    )


@router.post("/sign-in")
async def sign_in_local(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    c = _container(request)
    try:
        outcome = await run_in_threadpool(
            c.console.local.sign_in,
            username,
            password,
            code,
            _client(request),
            replaces=request.cookies.get(_cookies(request).session),
        )
    except ServiceError as error:
        return _sign_in_form(
            request, next, error=f"error.{error.code}", status_code=error.status_code
        )
    if outcome.enrolment is not None:
        return _enrolment_page(request, outcome.enrolment, next)
    if outcome.session is None:
        raise RuntimeError("a sign-in ends in a session or an enrolment")
    return _signed_in(request, outcome.session, next)


def _enrolment_page(request: Request, enrolment: Enrolment, next_path: str) -> Response:
    svg = io.BytesIO()
    segno.make(enrolment.uri, error="m").save(svg, kind="svg", scale=5, border=2)
    qr = "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()
    response = render(
        request,
        "totp_enrolment.html",
        {"qr": qr, "secret": enrolment.secret, "uri": enrolment.uri, "next": next_path},
    )
    names = _cookies(request)
    response.headers.append(
        "set-cookie",
        names.header(
            names.flow, enrolment.flow, max_age=_FLOW_SECONDS, same_site="Strict"
        ).decode(),
    )
    return response


@router.post("/sign-in/totp")
async def confirm_totp(
    request: Request,
    code: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    c = _container(request)
    names = _cookies(request)
    try:
        token = await run_in_threadpool(
            c.console.local.confirm_enrolment,
            request.cookies.get(names.flow, ""),
            code,
            _client(request),
            replaces=request.cookies.get(names.session),
        )
    except ServiceError as error:
        return _sign_in_form(
            request, next, error=f"error.{error.code}", status_code=error.status_code
        )
    return _signed_in(request, token, next)


@router.get("/sign-in/sso")
async def sso_start(request: Request, next: str = "/console/") -> Response:
    c = _container(request)
    if c.console.sso is None:
        return _sign_in_form(request, next, error="error.sso_off", status_code=404)
    base = c.settings.console_base_url or str(request.base_url)
    try:
        auth_uri, handle = await run_in_threadpool(
            c.console.sso.begin, base.rstrip("/") + CALLBACK
        )
    except OidcError:  # the provider is out of reach or refused the app
        return _sign_in_form(
            request, next, error="error.sso_unreachable", status_code=502
        )
    names = _cookies(request)
    response = RedirectResponse(auth_uri, status_code=303)
    # Lax: the provider's redirect back is a top-level GET from its site.
    encoded = base64.urlsafe_b64encode(safe_next(next).encode()).decode()
    response.headers.append(
        "set-cookie",
        names.header(names.flow, f"{handle}.{encoded}", max_age=_FLOW_SECONDS).decode(),
    )
    return response


@router.get("/sign-in/callback")
async def sso_callback(request: Request) -> Response:
    c = _container(request)
    if c.console.sso is None:
        return _sign_in_form(
            request, "/console/", error="error.sso_off", status_code=404
        )
    names = _cookies(request)
    handle, _, encoded = request.cookies.get(names.flow, "").partition(".")
    try:
        next_path = base64.urlsafe_b64decode(encoded.encode()).decode()
    except ValueError:
        next_path = "/console/"
    try:
        token = await run_in_threadpool(
            c.console.sso.complete,
            handle,
            dict(request.query_params),
            _client(request),
            replaces=request.cookies.get(names.session),
        )
    except ServiceError as error:
        return _sign_in_form(
            request,
            next_path,
            error=f"error.{error.code}",
            status_code=error.status_code,
        )
    return _signed_in(request, token, next_path)


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    c = _container(request)
    names = _cookies(request)
    token = console_request(request).token
    if token:
        await run_in_threadpool(c.console.sessions.end, token)
    response = see_other("/console/sign-in", notice="notice.signed_out")
    response.headers.append("set-cookie", names.clear(names.session).decode())
    return response


@router.post("/language")
def switch_language(
    request: Request,
    lang: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    response = see_other(safe_next(next))
    if lang in LANGUAGES:
        names = _cookies(request)  # a preference for a year
        cookie = names.header(LANG_COOKIE, lang, max_age=365 * 86400)
        response.headers.append("set-cookie", cookie.decode())
    return response


@router.post("/role")
async def switch_role(
    request: Request, user: Viewer, role: Annotated[str, Form()]
) -> Response:
    c = _container(request)
    token = console_request(request).token or ""
    if role in {str(r) for r in user.roles}:
        await run_in_threadpool(c.console.sessions.switch_role, token, Role(role))
    return see_other("/console/")
