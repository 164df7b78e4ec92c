"""The console for tests: people with console roles, sign-in through the
Graph test server (real msal, OpenID Connect with PKCE) or a break-glass
account with TOTP, over ``TestClient`` or in headless Chromium.

Fixtures:

* ``console_service``: the service (fake AD, frozen clock, real store on
  both databases) with SSO pointed at the Graph test server, and ``Staff``
  to make people; ``console_http`` signs in over ``TestClient``.
* ``console``: the same app served by uvicorn on a free loopback port, and
  a Playwright browser: Debian's ``/usr/bin/chromium`` (never a downloaded
  one), one per test module, a fresh context per sign-in. SQLite store.

Dummy people only (8.33).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fastapi.testclient import TestClient

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.services import totp
from iam_service.services.auth import Principal
from iam_service.settings import REPO_ROOT
from iam_service.web.app import create_app
from tests.support.db import TestDatabase
from tests.support.graph_server import CLIENT_ID, CLIENT_SECRET, TENANT, GraphServer
from tests.support.http_app import serve
from tests.support.service import build, event, hire

CALLBACK = "/console/sign-in/callback"
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Grants and revokes roles in tests, as an operator at the server would.
OPERATOR = Principal("test-operator", frozenset({Role.SECURITY_OFFICER}), kind="cli")
LOCAL_PASSWORD = "break-glass passphrase 42"


def console_settings(graph: GraphServer | None, **overrides: Any) -> dict[str, Any]:
    """Settings for a console on plain http on loopback, SSO on ``graph``."""
    values: dict[str, Any] = {"session_cookie_secure": False}
    if graph is not None:
        values |= {
            "sso_tenant_id": TENANT,
            "sso_client_id": CLIENT_ID,
            "sso_client_secret": CLIENT_SECRET,
            "sso_authority_host": graph.base_url,
            "sso_ca_file": graph.pki.ca_cert,
        }
    return values | overrides


@dataclass(frozen=True)
class Member:
    """A person of the test organisation, and their Entra ID user."""

    employee_id: str
    email: str
    name: str
    oid: str | None = None


@dataclass
class Staff:
    """Makes people, heads of departments, role holders, local accounts."""

    container: Container
    graph: GraphServer | None = None
    _count: int = 0

    def person(
        self,
        employee_id: str,
        *,
        department: str = "SALES",
        title: str = "Staff",
        given: str = "Hanako",
        family: str | None = None,
        roles: tuple[Role, ...] = (),
        head_of: str | None = None,
        entra: bool = True,
    ) -> Member:
        family = family or f"Test{employee_id}"
        body = hire(
            employee_id, department, title, given_name=given, family_name=family
        )
        self.container.hr_intake.submit(HrEvent.model_validate(body), actor="test")
        if head_of is not None:
            self.container.departments.set_head(head_of, employee_id, OPERATOR)
        for role in roles:
            self.container.console.roles.grant(employee_id, role, OPERATOR, "test")
        email = body["employee"]["email"]
        oid = None
        if entra and self.graph is not None:
            oid = self.entra_user(email, f"{family} {given}", employee_id)
        return Member(employee_id, email, f"{family} {given}", oid)

    def entra_user(
        self, upn: str, display_name: str, employee_id: str | None = None
    ) -> str:
        """A user in the Graph test tenant; returns its object id."""
        assert self.graph is not None
        body: dict[str, Any] = {
            "accountEnabled": True,
            "displayName": display_name,
            "mailNickname": upn.split("@")[0],
            "userPrincipalName": upn,
            "passwordProfile": {"password": "Dummy-Passw0rd!"},
        }
        if employee_id:
            body["employeeId"] = employee_id
        with self.graph.directory.lock:
            return str(self.graph.directory.create_user(body)["id"])

    def terminate(self, employee_id: str) -> None:
        self._count += 1
        body = event("terminate", employee_id, f"leave-{employee_id}-{self._count}")
        self.container.hr_intake.submit(HrEvent.model_validate(body), actor="test")

    def local_user(
        self, username: str, roles: tuple[Role, ...], employee_id: str | None = None
    ) -> str:
        self.container.auth.create_local_user(
            username, LOCAL_PASSWORD, list(roles), actor="test", employee_id=employee_id
        )
        return LOCAL_PASSWORD


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class ConsoleHttp:
    """Sign in over ``TestClient`` (no browser): each client is a browser."""

    container: Container
    graph: GraphServer | None
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        tc = TestClient(create_app(self.container), base_url="http://127.0.0.1")
        self.clients.append(tc)
        return tc

    def csrf(self, tc: TestClient, path: str = "/console/sign-in") -> str:
        return csrf_of(tc.get(path).text)

    def sso(self, tc: TestClient, member: Member) -> requests.Response | Any:
        """Sign ``member`` in through Entra ID; returns the callback answer."""
        assert self.graph is not None and member.oid is not None
        self.graph.sign_ins.signed_in = member.oid
        self.graph.sign_ins.allow_redirect(CLIENT_ID, "http://127.0.0.1" + CALLBACK)
        start = tc.get("/console/sign-in/sso", follow_redirects=False)
        assert start.status_code == 303, start.text
        with self.graph.session() as idp:  # the browser at the identity provider
            answer = idp.get(start.headers["location"], allow_redirects=False)
        assert answer.status_code == 302, answer.text
        back = urlsplit(answer.headers["Location"])
        return tc.get(f"{back.path}?{back.query}", follow_redirects=False)

    def sign_in(self, member: Member) -> TestClient:
        tc = self.client()
        answer = self.sso(tc, member)
        assert answer.status_code == 303, answer.text
        return tc

    def local(
        self, tc: TestClient, username: str, password: str, code: str = ""
    ) -> Any:
        return tc.post(
            "/console/sign-in",
            data={
                "username": username,
                "password": password,
                "code": code,
                "csrf_token": self.csrf(tc),
            },
            follow_redirects=False,
        )

    def enrol(self, tc: TestClient, username: str, password: str) -> str:
        """First sign-in of a break-glass account; returns its TOTP secret."""
        page = self.local(tc, username, password)
        assert page.status_code == 200, page.text
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
        assert secret, "no TOTP secret shown"
        clock: FrozenClock = self.container.clock  # type: ignore[assignment]
        done = tc.post(
            "/console/sign-in/totp",
            data={
                "code": totp.code_at(secret.group(1), clock.now()),
                "csrf_token": csrf_of(page.text),
            },
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        return secret.group(1)

    def close(self) -> None:
        for tc in self.clients:
            tc.close()


@pytest.fixture
def console_service(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
) -> Iterator[Container]:
    c = build(database, {"ad": fake_ad}, clock, **console_settings(graph_server))
    yield c
    c.close()


@pytest.fixture
def staff(console_service: Container, graph_server: GraphServer) -> Staff:
    return Staff(console_service, graph_server)


@pytest.fixture
def console_http(
    console_service: Container, graph_server: GraphServer
) -> Iterator[ConsoleHttp]:
    helper = ConsoleHttp(console_service, graph_server)
    yield helper
    helper.close()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


@dataclass
class Console:
    """The console served on a loopback port, and a headless Chromium."""

    container: Container
    staff: Staff
    graph: GraphServer
    base_url: str
    browser: Any  # playwright.sync_api.Browser
    scratch: Path
    contexts: list[Any] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def person(self, employee_id: str, **kwargs: Any) -> Member:
        return self.staff.person(employee_id, **kwargs)

    def grant(self, employee_id: str, role: Role) -> None:
        self.container.console.roles.grant(employee_id, role, OPERATOR, "test")

    def new_page(self, lang: str = "ja") -> Any:
        """A fresh browser (its own cookies) speaking ``lang``."""
        context = self.browser.new_context(
            locale="ja-JP" if lang == "ja" else "en-GB",
            viewport={"width": 1280, "height": 800},
            ignore_https_errors=True,  # the test identity provider's own CA
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        return context.new_page()

    def sign_in(self, member: Member, lang: str = "ja") -> Any:
        """Sign ``member`` in through Entra ID (real msal, PKCE)."""
        assert member.oid is not None, "make the person with entra=True"
        self.graph.sign_ins.signed_in = member.oid
        page = self.new_page(lang)
        page.goto(self.url("/console/"))
        page.get_by_test_id("sso").click()
        page.wait_for_url(self.url("/console/"))
        return page

    def sign_in_local(self, username: str, password: str, lang: str = "ja") -> Any:
        """A break-glass sign-in; the first one enrols TOTP from the QR page."""
        page = self.new_page(lang)
        page.goto(self.url("/console/sign-in"))
        page.locator("details.break-glass summary").click()
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("#password").press("Enter")
        secret = page.get_by_test_id("totp-secret").inner_text()
        clock: FrozenClock = self.container.clock  # type: ignore[assignment]
        page.locator("#code").fill(totp.code_at(secret, clock.now()))
        page.locator("#code").press("Enter")
        page.wait_for_url(self.url("/console/"))
        return page

    def screenshot(self, page: Any, name: str) -> Path:
        """Save ``docs/screenshots/<name>.png`` when it is missing or when
        ``IAM_SCREENSHOTS=update``; otherwise into the test's temporary
        directory, so that a test run leaves the work tree as it was."""
        path = screenshot_path(name)
        if path.exists() and os.environ.get("IAM_SCREENSHOTS") != "update":
            path = self.scratch / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright; never a downloaded browser.

    One per test module: Playwright's event loop is gone before the next
    module's tests run their own asyncio code."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: tools/system_packages.sh installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def console(
    tmp_path: Path,
    sqlite_template: Path,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
    chromium: Any,
) -> Iterator[Console]:
    """The app with uvicorn on a free loopback port over a real (SQLite)
    store, SSO on the Graph test server, and a Playwright browser."""
    path = tmp_path / "iam.db"
    shutil.copy(sqlite_template, path)
    c = build(
        TestDatabase(f"sqlite:///{path}"),
        {"ad": fake_ad},
        clock,
        **console_settings(graph_server),
    )
    with serve(create_app(c)) as base_url:
        graph_server.sign_ins.allow_redirect(CLIENT_ID, base_url + CALLBACK)
        helper = Console(
            c, Staff(c, graph_server), graph_server, base_url, chromium, tmp_path
        )
        try:
            yield helper
        finally:
            helper.close()
    c.close()
