"""Passwords: changing one's own directory password and checking any
password, with live feedback as the person types (5.17's "effective
interactive function").

The feedback fragment is fetched by htmx while typing (a POST: the password
never goes into a URL); without JavaScript the "Check" button posts the
same form and the whole page comes back with the verdict. Anyone signed in
may use both pages; the change page offers only the person's own accounts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.services.errors import ServiceError
from iam_service.services.password_changes import PasswordRefused
from iam_service.services.password_checks import MAX_INPUT
from iam_service.web.api.passwords import client_of
from iam_service.web.password_feedback import feedback
from iam_service.web.ui.guard import Viewer
from iam_service.web.ui.i18n import Translator
from iam_service.web.ui.nav import NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/passwords", include_in_schema=False)
NAV = [NavEntry("passwords", "/console/passwords", "nav.passwords", order=85)]
Secret = Annotated[str, Form(max_length=MAX_INPUT)]


def _container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def _rules(c: Container) -> dict[str, Any]:
    return c.passwords.checks.rules.model_dump()


@router.get("")
def change_page(request: Request, user: Viewer) -> HTMLResponse:
    c = _container(request)
    accounts = c.passwords.changes.accounts(user.principal)
    return render(
        request,
        "passwords/change.html",
        {"accounts": accounts, "rules": _rules(c), "error": None, "check": None},
        nav="passwords",
    )


@router.post("/change")
async def change(
    request: Request,
    user: Viewer,
    system: Annotated[str, Form(min_length=1, max_length=64)],
    current_password: Secret,
    new_password: Secret,
) -> Response:
    c = _container(request)
    try:
        await run_in_threadpool(
            c.passwords.changes.change,
            user.principal,
            system,
            current_password,
            new_password,
            client_of(request),
        )
    except ServiceError as error:
        return _change_refused(request, user, error)
    return see_other("/console/passwords", notice="notice.password_change_queued")


def _change_refused(request: Request, user: Viewer, error: ServiceError) -> Response:
    c = _container(request)
    lang = request.state.console.lang
    check = None
    if isinstance(error, PasswordRefused):
        check = feedback(error.result, c.passwords.checks.rules.min_score, lang)
    accounts = c.passwords.changes.accounts(user.principal)
    return render(
        request,
        "passwords/change.html",
        {
            "accounts": accounts,
            "rules": _rules(c),
            "error": _message(lang, error),
            "check": check,
        },
        status_code=error.status_code,
        nav="passwords",
    )


def _message(lang: str, error: ServiceError) -> str:
    t = Translator(lang)
    key = f"passwords.error.{error.code}"
    return t(key) if t.has(key) else error.message


@router.get("/check")
def check_page(request: Request, user: Viewer) -> HTMLResponse:  # noqa: ARG001
    c = _container(request)
    return render(
        request,
        "passwords/check.html",
        {"rules": _rules(c), "check": None, "username": ""},
        nav="passwords",
    )


@router.post("/check")
async def check(
    request: Request,
    user: Viewer,
    password: Secret = "",
    new_password: Secret = "",
    username: Annotated[str, Form(max_length=200)] = "",
    mine: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """The verdict: a fragment for htmx, the whole page otherwise."""
    c = _container(request)
    result = await run_in_threadpool(
        c.passwords.checks.check,
        password or new_password,
        employee_id=user.employee_id if mine else None,
        username=username.strip() or None,
        caller=user.actor,
    )
    found = feedback(
        result, c.passwords.checks.rules.min_score, request.state.console.lang
    )
    if request.headers.get("hx-request") == "true":
        return render(request, "passwords/_feedback.html", {"check": found})
    return render(
        request,
        "passwords/check.html",
        {"rules": _rules(c), "check": found, "username": username},
        nav="passwords",
    )
