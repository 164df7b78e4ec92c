"""Signing in to the console: Entra ID through the real msal flow against
the Graph test server, break-glass accounts with TOTP, and the guards
against guessing (ADR 0012, 0013). Both stores."""

from __future__ import annotations

from datetime import timedelta

from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import Account, AccountStatus
from iam_service.domain.security import Role
from iam_service.services import totp
from tests.support.console import ConsoleHttp, Staff
from tests.support.graph_server import GraphServer


def test_sso_signs_a_person_in_with_their_roles(
    staff: Staff, console_http: ConsoleHttp, graph_server: GraphServer
) -> None:
    auditor = staff.person("E3001", roles=(Role.AUDITOR,))
    tc = console_http.client()

    answer = console_http.sso(tc, auditor)

    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    home = tc.get("/console/", headers={"accept-language": "en"})
    assert "Auditor home" in home.text and auditor.name in home.text
    request = graph_server.sign_ins.authorize_requests[-1]
    assert request["code_challenge_method"] == "S256" and request["nonce"]


def test_sso_maps_the_entra_object_id_through_our_entra_account(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    member = staff.person("E3002", roles=(Role.HR,), entra=False)
    # The Entra user carries neither our employee id nor our e-mail ...
    oid = staff.entra_user("someone.else@example.test", "Someone Else")
    c = staff.container
    with c.uow() as uow:  # ... but it is the account we provisioned for them.
        person = uow.persons.by_employee_id(member.employee_id)
        assert person is not None and person.id is not None
        uow.accounts.add(
            Account(
                person.id,
                "entra",
                "someone.else@example.test",
                oid,
                AccountStatus.ENABLED,
            )
        )
        uow.commit()
    tc = console_http.client()

    answer = console_http.sso(tc, type(member)(member.employee_id, "", "", oid))

    assert answer.status_code == 303
    assert "人事ホーム" in tc.get("/console/").text


def test_sso_refuses_someone_who_is_not_one_of_our_people(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    oid = staff.entra_user("visitor@example.test", "Visitor")
    from tests.support.console import Member

    tc = console_http.client()
    answer = console_http.sso(tc, Member("X", "visitor@example.test", "V", oid))

    assert answer.status_code == 401
    assert tc.get("/console/", follow_redirects=False).status_code == 303


def test_sso_refuses_a_terminated_person(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    leaver = staff.person("E3003", roles=(Role.HR,))
    staff.terminate(leaver.employee_id)

    answer = console_http.sso(console_http.client(), leaver)

    assert answer.status_code == 401


def test_sso_callback_is_refused_in_a_browser_that_did_not_start_it(
    staff: Staff, console_http: ConsoleHttp, graph_server: GraphServer
) -> None:
    member = staff.person("E3004", roles=(Role.HR,))
    victim = console_http.client()
    attacker = console_http.client()
    answer = console_http.sso(attacker, member)  # the attacker's own flow ...
    assert answer.status_code == 303
    # ... replayed into the victim's browser (login CSRF): no flow here.
    location = graph_server.sign_ins.authorize_requests[-1]
    replay = victim.get(
        f"/console/sign-in/callback?code=x&state={location['state']}",
        follow_redirects=False,
    )
    assert replay.status_code == 401
    assert victim.get("/console/", follow_redirects=False).status_code == 303


def test_sso_refuses_an_id_token_from_another_tenant(
    staff: Staff, console_http: ConsoleHttp, graph_server: GraphServer
) -> None:
    member = staff.person("E3005", roles=(Role.HR,))
    graph_server.sign_ins.extra_claims["tid"] = "00000000-0000-4000-8000-000000000000"

    answer = console_http.sso(console_http.client(), member)

    assert answer.status_code == 401


def test_break_glass_sign_in_enrols_totp_then_needs_a_fresh_code(
    staff: Staff, console_http: ConsoleHttp, clock: FrozenClock
) -> None:
    password = staff.local_user("breakglass", (Role.SYSADMIN,))
    first = console_http.client()
    secret = console_http.enrol(first, "breakglass", password)
    assert "システム管理者ホーム" in first.get("/console/").text
    with staff.container.uow() as uow:
        user = uow.local_users.get("breakglass")
        assert user is not None and user.totp_secret_encrypted
        assert secret not in user.totp_secret_encrypted  # sealed, never in clear

    clock.advance(timedelta(seconds=30))
    code = totp.code_at(secret, clock.now())
    second = console_http.client()
    assert console_http.local(second, "breakglass", password, code).status_code == 303
    # The same code again (replay) is refused, even with the right password.
    third = console_http.client()
    assert console_http.local(third, "breakglass", password, code).status_code == 401
    assert console_http.local(third, "breakglass", password, "").status_code == 401


def test_a_locked_account_is_refused_even_with_the_right_password(
    staff: Staff, console_http: ConsoleHttp, clock: FrozenClock
) -> None:
    password = staff.local_user("breakglass", (Role.SYSADMIN,))
    secret = console_http.enrol(console_http.client(), "breakglass", password)
    tc = console_http.client()
    for _ in range(5):  # IAM_LOGIN_MAX_FAILURES
        assert (
            console_http.local(tc, "breakglass", "guess-guess-guess").status_code == 401
        )

    clock.advance(timedelta(seconds=31))
    right = console_http.local(
        tc, "breakglass", password, totp.code_at(secret, clock.now())
    )

    assert right.status_code == 423
    assert "ロック" in right.text
    clock.advance(timedelta(minutes=15))  # IAM_LOGIN_LOCKOUT_MINUTES
    later = console_http.local(
        tc, "breakglass", password, totp.code_at(secret, clock.now())
    )
    assert later.status_code == 303
    with staff.container.uow() as uow:
        actions = [r.action for r in uow.audit.for_target("local_user:breakglass")]
    assert "console.account_locked" in actions


def test_an_address_that_keeps_failing_is_throttled(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    tc = console_http.client()
    answers = [
        console_http.local(tc, f"nobody{i}", "wrong-password").status_code
        for i in range(21)  # IAM_LOGIN_ADDRESS_LIMIT = 20 per window
    ]
    assert answers[:20] == [401] * 20 and answers[20] == 429


def test_old_attempts_are_pruned_and_the_address_may_try_again(
    staff: Staff, console_http: ConsoleHttp, clock: FrozenClock
) -> None:
    tc = console_http.client()
    for i in range(21):
        console_http.local(tc, f"nobody{i}", "wrong-password")
    clock.advance(timedelta(days=31))

    removed = staff.container.console.sessions.prune()

    assert removed >= 21
    assert console_http.local(tc, "nobody", "wrong-password").status_code == 401
