"""Console sessions: CSRF, fixation, timeouts, sign-out, and a terminated
person's session ending at once (ADR 0012). Both stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from tests.support.console import ConsoleHttp, Staff, csrf_of
from tests.support.service import event

SESSION = "iam_session"


def test_a_form_without_the_csrf_token_is_refused(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E4001", roles=(Role.SECURITY_OFFICER,))
    tc = console_http.sign_in(member)

    missing = tc.post("/console/role", data={"role": "security_officer"})
    wrong = tc.post(
        "/console/sign-out", data={"csrf_token": "forged"}, follow_redirects=False
    )

    assert missing.status_code == 403 and wrong.status_code == 403
    assert tc.get("/console/").status_code == 200  # still signed in


def test_a_cross_site_post_to_the_api_with_the_session_cookie_is_refused(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    officer = staff.person("E4002", roles=(Role.SECURITY_OFFICER,))
    staff.person("E4003")
    tc = console_http.sign_in(officer)
    body = {"employee_id": "E4003", "role": "hr", "reason": "cover"}

    forged = tc.post("/api/v1/console-roles", json=body)
    same_site = tc.post(
        "/api/v1/console-roles",
        json=body,
        headers={"X-CSRF-Token": console_http.csrf(tc, "/console/")},
    )

    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "csrf"
    assert same_site.status_code == 201, same_site.text


def test_the_session_id_changes_at_sign_in(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E4004", roles=(Role.HR,))
    tc = console_http.client()
    planted = "planted-by-an-attacker-0123456789"
    tc.cookies.set(SESSION, planted, domain="127.0.0.1", path="/")

    console_http.sso(tc, member)

    assert tc.cookies.get(SESSION) not in (None, planted)
    attacker = console_http.client()
    attacker.cookies.set(SESSION, planted, domain="127.0.0.1", path="/")
    assert attacker.get("/console/", follow_redirects=False).status_code == 303


def test_an_earlier_session_of_the_same_browser_ends_at_sign_in(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E4005", roles=(Role.HR,))
    tc = console_http.sign_in(member)
    first = tc.cookies.get(SESSION)

    console_http.sso(tc, member)

    copy = console_http.client()
    copy.cookies.set(SESSION, str(first), domain="127.0.0.1", path="/")
    assert copy.get("/console/", follow_redirects=False).status_code == 303


def test_a_terminated_persons_session_is_dead_on_the_next_request(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E4006", roles=(Role.HR,))
    tc = console_http.sign_in(member)
    assert tc.get("/api/v1/identities/E4006").status_code == 200

    staff.terminate(member.employee_id)

    page = tc.get("/console/", follow_redirects=False)
    assert page.status_code == 303 and "session_ended" in page.headers["location"]
    assert tc.get("/api/v1/identities/E4006").status_code == 401
    with staff.container.uow() as uow:
        sessions = uow.console_sessions.live_for_employee(member.employee_id)
        actions = [r.action for r in uow.audit.for_target("person:E4006")]
    assert sessions == [] and "console.sessions_ended" in actions


def test_a_scim_termination_ends_the_session_too(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E4007", roles=(Role.AUDITOR,))
    tc = console_http.sign_in(member)
    token = staff.container.auth.create_token("idp", Role.HR, actor="test")
    scim = console_http.client()

    gone = scim.delete(
        "/scim/v2/Users/E4007", headers={"Authorization": f"Bearer {token}"}
    )

    assert gone.status_code == 204, gone.text
    assert tc.get("/console/", follow_redirects=False).status_code == 303


def test_a_revoked_role_is_gone_on_the_next_request(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    from tests.support.console import OPERATOR

    member = staff.person("E4008", roles=(Role.AUDITOR,))
    tc = console_http.sign_in(member)
    assert tc.get("/api/v1/identities/E4008").status_code == 200

    staff.container.console.roles.revoke("E4008", Role.AUDITOR, OPERATOR, "moved")

    assert tc.get("/api/v1/identities/E4008").status_code == 403


@pytest.mark.parametrize(
    ("steps", "alive"),
    [
        ([timedelta(minutes=29)], True),
        ([timedelta(minutes=30)], False),  # IAM_SESSION_IDLE_MINUTES
        ([timedelta(minutes=25)] * 23, True),  # busy for 9 h 35 min
        ([timedelta(minutes=25)] * 24, False),  # 10 h: IAM_SESSION_ABSOLUTE_HOURS
    ],
)
def test_idle_and_absolute_timeouts(
    staff: Staff,
    console_http: ConsoleHttp,
    clock: FrozenClock,
    steps: list[timedelta],
    alive: bool,
) -> None:
    member = staff.person("E4009", roles=(Role.HR,))
    tc = console_http.sign_in(member)
    status = 200
    for step in steps:
        clock.advance(step)
        status = tc.get("/console/", follow_redirects=False).status_code
    assert (status == 200) is alive


def test_sign_out_ends_the_session(staff: Staff, console_http: ConsoleHttp) -> None:
    member = staff.person("E4010", roles=(Role.HR,))
    tc = console_http.sign_in(member)
    token = tc.cookies.get(SESSION)
    home = tc.get("/console/")

    out = tc.post(
        "/console/sign-out",
        data={"csrf_token": csrf_of(home.text)},
        follow_redirects=False,
    )

    assert out.status_code == 303
    copy = console_http.client()
    copy.cookies.set(SESSION, str(token), domain="127.0.0.1", path="/")
    assert copy.get("/console/", follow_redirects=False).status_code == 303


def test_an_api_token_needs_no_csrf_and_ignores_the_session(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    token = staff.container.auth.create_token("hr-system", Role.HR, actor="test")
    tc = console_http.client()

    answer = tc.post(
        "/api/v1/hr/events",
        json=event("terminate", "E9999", "t-1"),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code != 403
