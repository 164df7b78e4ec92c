"""The session middleware: who is signed in, CSRF, language, headers.

For every request it reads the session cookie, resolves the session (which
re-checks timeouts, the person's status and roles) and puts the principal
on ``request.state.principal`` (what ``web/api/deps.principal`` falls back
to) and a ``ConsoleRequest`` on ``request.state.console``.

CSRF (ADR 0012): every POST/PUT/PATCH/DELETE that is not authenticated by
an ``Authorization`` header must carry the synchroniser token, in the
``X-CSRF-Token`` header (htmx, fetch) or the ``csrf_token`` form field. The
token is an HMAC of the session token (or, before sign-in, of a random
pre-session cookie) under a key derived from ``IAM_SECRET_KEY``; a missing
or wrong token is refused with 403 before any route runs. A request with an
``Authorization`` header never uses the session, so API clients keep tokens.

A notice after a form (``rendering.see_other``) travels in a short-lived
cookie, not in the URL, so that it shows once: the redirect sets it, and the
next console answer that is not itself a redirect clears it, so a reload
shows the page without it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request, cookie_parser

from iam_service.bootstrap import Container
from iam_service.services.console_sessions import SessionState
from iam_service.web.ui.i18n import LANG_COOKIE, choose_language

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# see_other names the notice in this header; the middleware turns it into
# the one-shot cookie (and never lets the header out).
NOTICE_HEADER = "x-console-notice"
NOTICE_SECONDS = 60
_NOTICE_KEY = re.compile(r"notice\.[a-z0-9_.]+")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_MAX_FORM = 10 * 1024 * 1024
_QUIET = ("/static/", "/healthz", "/metrics", "/scim/")
CONSOLE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        b"script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        b"form-action 'self'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True)
class CookieNames:
    session: str
    pre: str
    flow: str
    notice: str
    secure: bool

    @classmethod
    def for_settings(cls, secure: bool) -> CookieNames:
        # __Host-: the browser keeps it to this host, path /, HTTPS only.
        prefix = "__Host-" if secure else ""
        return cls(
            f"{prefix}iam_session",
            f"{prefix}iam_pre",
            f"{prefix}iam_flow",
            f"{prefix}iam_notice",
            secure,
        )

    def header(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        same_site: str = "Lax",
    ) -> bytes:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", f"SameSite={same_site}"]
        if self.secure:
            parts.append("Secure")
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        return "; ".join(parts).encode()

    def clear(self, name: str) -> bytes:
        return self.header(name, "", max_age=0)


@dataclass
class ConsoleRequest:
    """What the console knows about this request (``request.state.console``)."""

    session: SessionState | None
    token: str | None  # the live session's cookie value
    csrf_token: str
    lang: str
    lost: bool = False  # a session cookie came in but its session is over
    notice: str | None = None  # the one-shot notice cookie, if one came in
    set_cookies: list[bytes] | None = None

    def add_cookie(self, header: bytes) -> None:
        self.set_cookies = [*(self.set_cookies or []), header]


def csrf_token(key: bytes, seed: str) -> str:
    digest = hmac.new(key, b"csrf:" + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class ConsoleSessionMiddleware:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.cookies = CookieNames.for_settings(
            container.settings.session_cookie_secure
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_QUIET):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1")
            for k, v in scope["headers"]
        }
        jar = _cookies(headers.get("cookie", ""))
        has_auth = bool(headers.get("authorization"))
        console = await self._console(jar, headers, has_auth)
        console.notice = jar.get(self.cookies.notice) or None
        state = scope.setdefault("state", {})
        state["console"] = console
        if console.session is not None:
            state["principal"] = console.session.principal
        path = scope["path"]
        is_console = not path.startswith("/api/")
        if (
            scope["method"] in UNSAFE
            and not has_auth
            and (console.session or is_console)
        ):
            receive, refusal = await self._check_csrf(scope, receive, headers, console)
            if refusal is not None:
                await _refuse(send, refusal, console, is_console)
                return
        await self.app(scope, receive, self._sender(send, console, is_console))

    async def _console(
        self, jar: dict[str, str], headers: dict[str, str], has_auth: bool
    ) -> ConsoleRequest:
        c = self.container
        lang = choose_language(
            jar.get(LANG_COOKIE),
            headers.get("accept-language"),
            c.settings.console_language,
        )
        token = jar.get(self.cookies.session)
        session = None
        if token and not has_auth:
            session = await run_in_threadpool(c.console.sessions.resolve, token)
        key = c.console.csrf_key
        if session is not None and token:
            return ConsoleRequest(session, token, csrf_token(key, token), lang)
        pre = jar.get(self.cookies.pre)
        console = ConsoleRequest(None, None, "", lang, lost=bool(token))
        if not pre:
            pre = secrets.token_urlsafe(32)
            console.add_cookie(
                self.cookies.header(self.cookies.pre, pre, same_site="Strict")
            )
        if token:
            console.add_cookie(self.cookies.clear(self.cookies.session))
        console.csrf_token = csrf_token(key, pre)
        return console

    async def _check_csrf(
        self,
        scope: Scope,
        receive: Receive,
        headers: dict[str, str],
        console: ConsoleRequest,
    ) -> tuple[Receive, str | None]:
        if console.lost:
            return receive, "session_ended"
        presented = headers.get(CSRF_HEADER, "")
        content_type = headers.get("content-type", "")
        if not presented and content_type.startswith(_FORM_TYPES):
            body = await _read_body(receive)
            if body is None:
                return receive, "csrf"
            receive = _replay(body)
            form = await Request(scope, _replay(body)).form()
            value = form.get(CSRF_FIELD)
            presented = value if isinstance(value, str) else ""
            await form.close()
        if not presented or not hmac.compare_digest(presented, console.csrf_token):
            return receive, "csrf"
        return receive, None

    def _sender(self, send: Send, console: ConsoleRequest, is_console: bool) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"set-cookie", v) for v in console.set_cookies or []]
                if is_console:
                    extra += self._notice_cookie(message, console)
                    extra += [h for h in CONSOLE_HEADERS if not _has(message, h[0])]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return wrapped

    def _notice_cookie(
        self, message: Message, console: ConsoleRequest
    ) -> list[tuple[bytes, bytes]]:
        """Set the notice a redirect names; clear a shown one (see above)."""
        header = NOTICE_HEADER.encode()
        headers = message.get("headers", [])
        named = [v.decode("latin-1") for k, v in headers if k.lower() == header]
        message["headers"] = [(k, v) for k, v in headers if k.lower() != header]
        name = self.cookies.notice
        if named and _NOTICE_KEY.fullmatch(named[-1]):
            cookie = self.cookies.header(name, named[-1], max_age=NOTICE_SECONDS)
            return [(b"set-cookie", cookie)]
        if console.notice and not 300 <= int(message["status"]) < 400:
            return [(b"set-cookie", self.cookies.clear(name))]
        return []


def _has(message: Message, name: bytes) -> bool:
    return any(k.lower() == name for k, _ in message.get("headers", []))


def _cookies(header: str) -> dict[str, str]:
    return cookie_parser(header)  # Starlette's lenient parser, as Request uses


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_FORM:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _refuse(
    send: Send, why: str, console: ConsoleRequest, is_console: bool
) -> None:
    """403 for a bad CSRF token; for an ended session, back to sign-in."""
    cookies = [(b"set-cookie", v) for v in console.set_cookies or []]
    if why == "session_ended" and is_console:
        location = b"/console/sign-in?notice=notice.session_ended"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [(b"location", location), *cookies, *CONSOLE_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    if why == "session_ended":
        status, code, text = 401, "unauthorised", "the session has ended; sign in again"
    else:
        status, code, text = (
            403,
            "csrf",
            "the form's security token is missing or wrong",
        )
    if is_console:
        ctype = b"text/html; charset=utf-8"
        body = _REFUSAL_HTML.format(text=text).encode()
    else:
        ctype = b"application/json"
        body = json.dumps(
            {"error": {"code": code, "message": text, "details": []}}
        ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), *cookies, *CONSOLE_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})


_REFUSAL_HTML = (
    '<!doctype html><html lang="ja"><meta charset="utf-8"><title>403</title>'
    '<link rel="stylesheet" href="/static/console.css"><main class="refusal">'
    "<h1>この操作は受け付けられませんでした / Refused</h1>"
    "<p>フォームの有効期限が切れたか、別のサイトから送信されました。"
    "ページを開き直してもう一度お試しください。</p><p>{text}.</p>"
    '<p><a href="/console/">コンソールへ / Console</a></p></main></html>'
)
