"""The authorisation matrix: every route of the app (API, SCIM, console),
enumerated from the app itself, tried anonymously, as a console session of
each role (and of a person with none), and with an API token of each role.
Each may reach exactly what ``EXPECTED`` declares.

A route missing from ``EXPECTED`` fails the test: add one line for it
(``docs/console.md``). "Reached" means the role guard let the request
through; what the use case then answers (404 for the dummy ids, 422 for the
empty bodies, 403 segregation of duties) does not matter here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from tests.support.console import ConsoleHttp, Staff, console_settings
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.service import build

HR, HEAD, SYS, SO, AUD = (
    Role.HR,
    Role.DEPARTMENT_HEAD,
    Role.SYSADMIN,
    Role.SECURITY_OFFICER,
    Role.AUDITOR,
)
ALL = frozenset(Role)


@dataclass(frozen=True)
class Access:
    roles: frozenset[Role] = frozenset()
    public: bool = False  # anonymous too
    anyone: bool = False  # any signed-in caller, with or without a role
    sessions: bool = True  # console sessions count (cookie + CSRF)
    tokens: bool = True  # API bearer tokens count


def api(*roles: Role) -> Access:
    return Access(frozenset(roles))


def page(*roles: Role) -> Access:
    """A console page: sessions only, never a bearer token."""
    return Access(frozenset(roles), tokens=False)


PUBLIC = Access(public=True)
ANYONE = Access(anyone=True)
PAGE_ANYONE = Access(anyone=True, tokens=False)
SCIM = Access(frozenset({HR}), sessions=False)  # machines (HR systems, IdPs)
READERS = (HR, SYS, SO, AUD)

EXPECTED: dict[tuple[str, str], Access] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/static/vendor/{name}"): PUBLIC,
    # HR intake, identities
    ("POST", "/api/v1/hr/events"): api(HR),
    ("GET", "/api/v1/identities/{employee_id}"): api(*READERS),
    # cloud-service register (5.23)
    ("GET", "/api/v1/systems"): api(SYS, SO, AUD),
    ("GET", "/api/v1/systems/export.csv"): api(SYS, SO, AUD),
    ("GET", "/api/v1/systems/{key}"): api(SYS, SO, AUD),
    ("POST", "/api/v1/systems"): api(SYS),
    ("PATCH", "/api/v1/systems/{key}"): api(SYS),
    ("POST", "/api/v1/systems/{key}/approve"): api(SO),
    ("POST", "/api/v1/systems/{key}/reject"): api(SO),
    ("POST", "/api/v1/systems/{key}/suspend"): api(SO),
    ("POST", "/api/v1/systems/{key}/resubmit"): api(SYS),
    # access requests, SoD exceptions, departments, movers, policy
    ("POST", "/api/v1/access-requests"): ANYONE,
    ("GET", "/api/v1/access-requests"): ANYONE,
    ("GET", "/api/v1/access-requests/{request_id}"): ANYONE,
    ("POST", "/api/v1/access-requests/{request_id}/approve"): api(HEAD, SYS, SO),
    ("POST", "/api/v1/access-requests/{request_id}/reject"): api(HEAD, SYS, SO),
    ("POST", "/api/v1/access-requests/{request_id}/cancel"): ANYONE,
    ("POST", "/api/v1/sod-exceptions"): api(SO),
    ("GET", "/api/v1/sod-exceptions"): api(SO, SYS, AUD),
    ("POST", "/api/v1/sod-exceptions/{exception_id}/revoke"): api(SO),
    ("GET", "/api/v1/departments"): api(*ALL),
    ("PUT", "/api/v1/departments/{code}/head"): api(HR, SYS),
    ("GET", "/api/v1/mover-reviews"): api(HEAD, SYS, SO, AUD),
    ("POST", "/api/v1/mover-reviews/{review_id}/decision"): api(HEAD),
    ("POST", "/api/v1/policy/plan"): api(SYS, SO, AUD),
    ("GET", "/api/v1/policy/versions"): api(SYS, SO, AUD),
    ("GET", "/api/v1/policy/versions/{version_id}"): api(SYS, SO, AUD),
    ("POST", "/api/v1/policy/versions"): api(SYS, SO),
    ("POST", "/api/v1/policy/versions/{version_id}/activate"): api(SYS, SO),
    ("POST", "/api/v1/policy/versions/{version_id}/reject"): api(SYS, SO),
    # privileged elevation and break-glass (8.2, 8.18); drift reconciliation
    ("POST", "/api/v1/elevations"): api(SYS),
    ("POST", "/api/v1/elevations/break-glass"): api(SYS),
    ("GET", "/api/v1/elevations"): api(SYS, SO, AUD),
    ("GET", "/api/v1/elevations/{elevation_id}"): api(SYS, SO, AUD),
    ("POST", "/api/v1/elevations/{elevation_id}/approve"): api(SO),
    ("POST", "/api/v1/elevations/{elevation_id}/reject"): api(SO),
    ("POST", "/api/v1/elevations/{elevation_id}/ratify"): api(SO),
    ("POST", "/api/v1/elevations/{elevation_id}/end"): api(SYS, SO),
    ("GET", "/api/v1/reconcile/runs"): api(SYS, SO, AUD),
    ("GET", "/api/v1/reconcile/runs/{run_id}"): api(SYS, SO, AUD),
    ("POST", "/api/v1/reconcile/{system}"): api(SYS),
    # console roles (ADR 0013)
    ("GET", "/api/v1/console-roles"): api(SO, SYS, AUD),
    ("POST", "/api/v1/console-roles"): api(SO),
    ("POST", "/api/v1/console-roles/{employee_id}/{role}/revoke"): api(SO),
    # passwords (5.17): the interactive check, one's own change
    ("POST", "/api/v1/passwords/check"): ANYONE,
    ("GET", "/api/v1/passwords/accounts"): ANYONE,
    ("POST", "/api/v1/passwords/change"): ANYONE,
    ("GET", "/api/v1/passwords/changes/{operation_id}"): ANYONE,
    # assets and offboarding (5.9, 5.11)
    ("GET", "/api/v1/assets"): api(*READERS),
    ("POST", "/api/v1/assets"): api(SYS),
    ("GET", "/api/v1/assets/export.csv"): api(*READERS),
    ("POST", "/api/v1/assets/import"): api(SYS),
    ("GET", "/api/v1/assets/card-checks"): api(*READERS),
    ("POST", "/api/v1/assets/card-checks/{check_id}/complete"): api(SYS),
    ("GET", "/api/v1/assets/{tag}"): api(*READERS),
    ("PATCH", "/api/v1/assets/{tag}"): api(SYS),
    ("POST", "/api/v1/assets/{tag}/assign"): api(SYS),
    ("POST", "/api/v1/assets/{tag}/return"): api(HR, SYS),
    ("POST", "/api/v1/assets/{tag}/state"): api(SYS),
    ("GET", "/api/v1/offboarding/cases"): api(*READERS),
    ("GET", "/api/v1/offboarding/cases/{case_id}"): api(*READERS),
    ("POST", "/api/v1/offboarding/cases/{case_id}/assets/{tag}/return"): api(HR, SYS),
    ("POST", "/api/v1/offboarding/cases/{case_id}/assets/{tag}/write-off"): api(
        HR, SYS
    ),
    (
        "POST",
        "/api/v1/offboarding/cases/{case_id}/assets/{tag}/write-off/approve",
    ): api(SO),
    (
        "POST",
        "/api/v1/offboarding/cases/{case_id}/assets/{tag}/write-off/reject",
    ): api(SO),
    ("POST", "/api/v1/offboarding/cases/{case_id}/items/{item_id}/complete"): api(
        HR, SYS
    ),
    ("POST", "/api/v1/offboarding/cases/{case_id}/items/{item_id}/waive"): api(HR, SYS),
    ("POST", "/api/v1/offboarding/cases/{case_id}/close"): api(HR, SYS),
    ("GET", "/api/v1/offboarding/planned-terminations"): api(*READERS),
    ("POST", "/api/v1/offboarding/planned-terminations/{employee_id}/run-now"): api(SO),
    ("GET", "/api/v1/offboarding/reports/{name}.csv"): api(*READERS),
    ("GET", "/api/v1/offboarding/reports/{name}"): api(*READERS),
    # access reviews (5.18): reviewers are checked per review by the use case
    ("GET", "/api/v1/review-campaigns"): ANYONE,
    ("POST", "/api/v1/review-campaigns"): api(SO),
    ("GET", "/api/v1/review-campaigns/{campaign_id}"): api(SO, AUD),
    ("POST", "/api/v1/review-campaigns/{campaign_id}/close"): api(SO),
    ("GET", "/api/v1/review-campaigns/{campaign_id}/report.csv"): api(SO, AUD),
    ("GET", "/api/v1/review-campaigns/{campaign_id}/report.pdf"): api(SO, AUD),
    ("GET", "/api/v1/reviews"): ANYONE,
    ("GET", "/api/v1/reviews/{review_id}"): ANYONE,
    ("GET", "/api/v1/reviews/{review_id}/items"): ANYONE,
    ("POST", "/api/v1/reviews/{review_id}/decisions"): ANYONE,
    ("POST", "/api/v1/reviews/{review_id}/bulk-keep"): ANYONE,
    ("POST", "/api/v1/reviews/{review_id}/delegate"): ANYONE,
    ("POST", "/api/v1/reviews/{review_id}/sign-off"): ANYONE,
    # inbound SCIM: bearer tokens of HR systems only, never a console session
    ("GET", "/scim/v2/Users"): SCIM,
    ("POST", "/scim/v2/.search"): SCIM,
    ("POST", "/scim/v2/Users/.search"): SCIM,
    ("POST", "/scim/v2/Users"): SCIM,
    ("GET", "/scim/v2/Users/{user_id}"): SCIM,
    ("PUT", "/scim/v2/Users/{user_id}"): SCIM,
    ("PATCH", "/scim/v2/Users/{user_id}"): SCIM,
    ("DELETE", "/scim/v2/Users/{user_id}"): SCIM,
    ("GET", "/scim/v2/ServiceProviderConfig"): SCIM,
    ("GET", "/scim/v2/ResourceTypes"): SCIM,
    ("GET", "/scim/v2/ResourceTypes/{type_id}"): SCIM,
    ("GET", "/scim/v2/Schemas"): SCIM,
    ("GET", "/scim/v2/Schemas/{schema_id}"): SCIM,
    ("GET", "/scim/v2/{rest:path}"): SCIM,
    ("POST", "/scim/v2/{rest:path}"): SCIM,
    ("PUT", "/scim/v2/{rest:path}"): SCIM,
    ("PATCH", "/scim/v2/{rest:path}"): SCIM,
    ("DELETE", "/scim/v2/{rest:path}"): SCIM,
    # privileged accounts (8.2) and handovers (5.18)
    ("GET", "/api/v1/privileged-accounts"): api(SO, SYS, AUD),
    ("GET", "/api/v1/privileged-accounts/export.csv"): api(SO, SYS, AUD),
    ("POST", "/api/v1/privileged-accounts/discover"): api(SO, SYS),
    ("GET", "/api/v1/privileged-accounts/{account_id}"): api(SO, SYS, AUD),
    ("POST", "/api/v1/privileged-accounts"): api(SO, SYS),
    ("PUT", "/api/v1/privileged-accounts/{account_id}/owner"): api(SO, SYS),
    ("POST", "/api/v1/privileged-accounts/{account_id}/custodians"): api(SO, SYS),
    ("POST", "/api/v1/privileged-accounts/{account_id}/custodians/remove"): api(
        SO, SYS
    ),
    ("POST", "/api/v1/privileged-accounts/{account_id}/approvals"): api(SO, SYS),
    (
        "POST",
        "/api/v1/privileged-accounts/{account_id}/approvals/{approval_id}/revoke",
    ): api(SO, SYS),
    ("POST", "/api/v1/privileged-accounts/{account_id}/rotate"): api(SO),
    ("GET", "/api/v1/handovers"): api(SO, SYS, AUD),
    ("POST", "/api/v1/handovers"): api(SO),
    ("GET", "/api/v1/handovers/{handover_id}"): api(SO, SYS, AUD),
    ("PUT", "/api/v1/handovers/{handover_id}/successor"): api(SO),
    ("POST", "/api/v1/rotations/{rotation_id}/link"): ANYONE,
    ("POST", "/api/v1/rotations/{rotation_id}/confirm"): ANYONE,
    ("GET", "/console/privileged"): page(SO, SYS, AUD),
    ("POST", "/console/privileged/discover"): page(SO, SYS),
    ("POST", "/console/privileged/manual"): page(SO, SYS),
    ("GET", "/console/privileged/{account_id}"): page(SO, SYS, AUD),
    ("POST", "/console/privileged/{account_id}/approve"): page(SO, SYS),
    ("POST", "/console/privileged/{account_id}/custodians"): page(SO, SYS),
    ("POST", "/console/privileged/{account_id}/rotate"): page(SO),
    ("GET", "/console/privileged/handovers"): page(SO, AUD),
    ("POST", "/console/privileged/handovers"): page(SO),
    ("GET", "/console/privileged/mine"): PAGE_ANYONE,
    ("GET", "/console/privileged/handovers/{handover_id}"): PAGE_ANYONE,
    ("POST", "/console/privileged/handovers/{handover_id}/successor"): page(SO),
    ("POST", "/console/privileged/rotations/{rotation_id}/link"): PAGE_ANYONE,
    ("POST", "/console/privileged/rotations/{rotation_id}/confirm"): PAGE_ANYONE,
    ("GET", "/console/privileged/secrets/{token}"): PAGE_ANYONE,
    ("POST", "/console/privileged/secrets/{token}"): PAGE_ANYONE,
    # the console: sign-in is public, pages need their roles
    ("GET", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in"): PUBLIC,
    ("POST", "/console/sign-in/totp"): PUBLIC,
    ("GET", "/console/sign-in/sso"): PUBLIC,
    ("GET", "/console/sign-in/callback"): PUBLIC,
    ("POST", "/console/language"): PUBLIC,
    ("POST", "/console/sign-out"): PUBLIC,
    ("POST", "/console/role"): PAGE_ANYONE,
    ("GET", "/console/"): PAGE_ANYONE,
    ("GET", "/console/people"): page(*READERS),
    ("GET", "/console/people/{employee_id}"): page(*READERS),
    ("GET", "/console/operations"): page(SYS, SO, AUD),
    ("POST", "/console/operations/{operation_id}/retry"): page(SYS),
    ("GET", "/console/systems"): page(SYS, SO, AUD),
    ("POST", "/console/systems/{key}/{decision}"): page(SO),
    ("GET", "/console/audit"): page(AUD, SO),
    ("GET", "/console/audit/verify"): page(AUD, SO),
    ("GET", "/console/roles"): page(SO, SYS, AUD),
    ("POST", "/console/roles"): page(SO),
    ("POST", "/console/roles/{employee_id}/{role}/revoke"): page(SO),
    # access reviews (5.18): reviewers are checked per review by the use case
    ("GET", "/console/reviews"): PAGE_ANYONE,
    ("POST", "/console/reviews/campaigns"): page(SO),
    ("GET", "/console/reviews/campaigns/{campaign_id}"): page(SO, AUD),
    ("POST", "/console/reviews/campaigns/{campaign_id}/close"): page(SO),
    ("GET", "/console/reviews/{review_id}"): PAGE_ANYONE,
    ("POST", "/console/reviews/{review_id}/items/{item_id}"): PAGE_ANYONE,
    ("POST", "/console/reviews/{review_id}/keep-selected"): PAGE_ANYONE,
    ("POST", "/console/reviews/{review_id}/bulk-keep"): PAGE_ANYONE,
    ("POST", "/console/reviews/{review_id}/sign-off"): PAGE_ANYONE,
    ("POST", "/console/reviews/{review_id}/delegate"): PAGE_ANYONE,
    # offboarding and the asset register (5.9, 5.11, 7.2)
    ("GET", "/console/offboarding"): page(*READERS),
    ("GET", "/console/offboarding/reports"): page(*READERS),
    ("GET", "/console/offboarding/{case_id}"): page(*READERS),
    ("POST", "/console/offboarding/{case_id}/assets/{tag}/return"): page(HR, SYS),
    ("POST", "/console/offboarding/{case_id}/assets/{tag}/write-off"): page(HR, SYS),
    ("POST", "/console/offboarding/{case_id}/assets/{tag}/write-off/approve"): page(SO),
    ("POST", "/console/offboarding/{case_id}/assets/{tag}/write-off/reject"): page(SO),
    ("POST", "/console/offboarding/{case_id}/items/{item_id}/complete"): page(HR, SYS),
    ("POST", "/console/offboarding/{case_id}/items/{item_id}/waive"): page(HR, SYS),
    ("POST", "/console/offboarding/{case_id}/close"): page(HR, SYS),
    ("GET", "/console/assets"): page(*READERS),
    ("POST", "/console/assets/import"): page(SYS),
    ("GET", "/console/assets/card-checks"): page(*READERS),
    ("POST", "/console/assets/card-checks/{check_id}/complete"): page(SYS),
    ("GET", "/console/assets/{tag}"): page(*READERS),
    ("POST", "/console/assets/{tag}/assign"): page(SYS),
    ("POST", "/console/assets/{tag}/return"): page(HR, SYS),
    ("GET", "/console/passwords"): PAGE_ANYONE,
    ("POST", "/console/passwords/change"): PAGE_ANYONE,
    ("GET", "/console/passwords/check"): PAGE_ANYONE,
    ("POST", "/console/passwords/check"): PAGE_ANYONE,
}

# Dummy path values: enough to reach the role guard.
PATH_VALUES = {
    "employee_id": "E9999",
    "role": "hr",
    "key": "ad",
    "decision": "approve",
    "code": "SALES",
    "name": "htmx.min.js",
    "tag": "T-1",
    "rest:path": "Groups",
    "user_id": "E9999",
}


@dataclass
class Caller:
    name: str
    role: Role | None  # None: no role
    kind: str  # anonymous | session | token
    client: TestClient
    csrf: str = ""


def routes(container: Container) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(create_app(container).routes):
        for method in sorted((getattr(context, "methods", None) or set()) - {"HEAD"}):
            found.append((method, context.path))
    return found


def request(caller: Caller, method: str, path: str) -> Any:
    url = re.sub(r"{([^}]+)}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)
    headers = {"X-CSRF-Token": caller.csrf} if caller.csrf else {}
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["data" if path.startswith("/console") else "json"] = {}
    return caller.client.request(method, url, **kwargs)


def reached(answer: Any) -> bool:
    """False when a guard turned the caller away (not the use case)."""
    status = answer.status_code
    location = answer.headers.get("location", "")
    if status in (302, 303, 307) and location.startswith("/console/sign-in?"):
        return "next=" not in location and "session_ended" not in location
    if status == 401:
        return answer.headers.get("content-type", "").startswith("text/html")
    if status == 403:
        if 'data-guard="roles"' in answer.text:
            return False
        body = answer.json() if "json" in answer.headers.get("content-type", "") else {}
        message = str(body.get("error", {}).get("message", body.get("detail", "")))
        return not message.startswith(("this needs one of the roles", "the form's"))
    return True


def allowed(access: Access, caller: Caller) -> bool:
    if access.public:
        return True
    if caller.kind == "anonymous":
        return False
    if caller.kind == "session" and not access.sessions:
        return False
    if caller.kind == "token" and not access.tokens:
        return False
    return access.anyone or (caller.role is not None and caller.role in access.roles)


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> TestDatabase:
    path = tmp_path / "iam.db"
    shutil.copy(sqlite_template, path)
    return TestDatabase(f"sqlite:///{path}")


@pytest.fixture
def matrix(
    sqlite_database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
) -> Iterator[tuple[Container, list[Caller]]]:
    c = build(sqlite_database, {"ad": fake_ad}, clock, **console_settings(graph_server))
    staff = Staff(c, graph_server)
    http = ConsoleHttp(c, graph_server)
    callers = [Caller("anonymous", None, "anonymous", http.client())]
    callers[0].csrf = http.csrf(callers[0].client)
    people = {
        HR: staff.person("E8001", roles=(HR,)),
        HEAD: staff.person("E8002", head_of="SALES"),
        SYS: staff.person("E8003", roles=(SYS,)),
        SO: staff.person("E8004", roles=(SO,)),
        AUD: staff.person("E8005", roles=(AUD,)),
        None: staff.person("E8006"),
    }
    for role, member in people.items():
        tc = http.sign_in(member)
        callers.append(
            Caller(f"session:{role}", role, "session", tc, http.csrf(tc, "/console/"))
        )
    for role in Role:
        token = c.auth.create_token(f"matrix-{role}", role, actor="test")
        tc = TestClient(
            create_app(c),
            base_url="http://127.0.0.1",
            headers={"Authorization": f"Bearer {token}"},
        )
        http.clients.append(tc)
        callers.append(Caller(f"token:{role}", role, "token", tc))
    yield c, callers
    http.close()
    c.close()


def test_every_route_has_a_declared_expectation(
    matrix: tuple[Container, list[Caller]],
) -> None:
    container, _ = matrix
    missing = [r for r in routes(container) if r not in EXPECTED]
    assert not missing, (
        "add these routes to EXPECTED in tests/integration/test_route_access.py: "
        f"{missing}"
    )


def test_each_role_reaches_only_what_it_should(
    matrix: tuple[Container, list[Caller]],
) -> None:
    container, callers = matrix
    found = sorted(
        (r for r in routes(container) if r in EXPECTED),
        key=lambda r: r == ("POST", "/console/sign-out"),  # it ends sessions: last
    )
    wrong = []
    for method, path in found:
        for caller in callers:
            answer = request(caller, method, path)
            expected = allowed(EXPECTED[(method, path)], caller)
            if reached(answer) != expected:
                verdict = "reached" if reached(answer) else "was refused"
                wrong.append(
                    f"{caller.name} {verdict} {method} {path} ({answer.status_code})"
                )
    assert not wrong, "\n".join(wrong)
    assert len(found) * len(callers) > 1000  # the matrix really ran
