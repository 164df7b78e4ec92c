"""Rendering console pages: one Jinja2 environment (autoescaped), and the
context every template receives (see ``docs/console.md``)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from iam_service.bootstrap import Container
from iam_service.web.ui.i18n import LANGUAGES, Translator
from iam_service.web.ui.nav import Registry
from iam_service.web.ui.session import CSRF_FIELD, NOTICE_HEADER, ConsoleRequest

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["query"] = _query
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    nav: str | None = None,
) -> HTMLResponse:
    """Render ``template`` with the page context; ``nav`` highlights an entry."""
    page = page_context(request, nav=nav) | (context or {})
    html = environment().get_template(template).render(page)
    return HTMLResponse(html, status_code=status_code)


def see_other(path: str, *, notice: str | None = None) -> RedirectResponse:
    """Redirect after a successful form (POST/redirect/GET). ``notice`` is an
    i18n key under ``notice.`` shown once on the next page: the session
    middleware carries it in a one-shot cookie, so a reload does not repeat
    it."""
    response = RedirectResponse(path, status_code=303)
    if notice:
        response.headers[NOTICE_HEADER] = notice
    return response


def page_context(request: Request, *, nav: str | None = None) -> dict[str, Any]:
    console: ConsoleRequest = request.state.console
    container: Container = request.app.state.container
    registry: Registry = request.app.state.console_registry
    t = Translator(console.lang)
    session = console.session
    active = session.active_role if session else None
    # The one-shot cookie; a link may name one too (the session-ended page).
    notice = console.notice or request.query_params.get("notice", "")
    tz = ZoneInfo(container.settings.timezone)
    return {
        "request": request,
        "t": t,
        "lang": console.lang,
        "languages": LANGUAGES,
        "session": session,
        "active_role": active,
        "nav_entries": registry.nav_for(active) if session else [],
        "current_nav": nav,
        "csrf_token": console.csrf_token,
        "csrf_field": _hidden(CSRF_FIELD, console.csrf_token),
        "notice": notice if notice.startswith("notice.") and t.has(notice) else None,
        "company": container.settings.company_name,
        "fmt_time": lambda moment: _local(moment, tz),
        "is_htmx": request.headers.get("hx-request") == "true",
        "path": request.url.path,
    }


def _hidden(name: str, value: str) -> Markup:
    return Markup(  # noqa: S704 - both parts are escaped
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
    )


def _local(moment: datetime | str | None, tz: ZoneInfo) -> str:
    """A UTC time shown in the organisation's time zone (stored UTC, 8.17)."""
    if moment is None or moment == "":
        return "–"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _query(params: dict[str, Any], **changes: Any) -> str:
    """``{{ filters | query(page=2) }}``: a query string with changes."""
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged)
