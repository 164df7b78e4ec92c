"""Console roles (ADR 0013): granted with a reason by a security officer or an
operator, never to oneself (5.3), auditors apart from acting roles (5.35);
break-glass accounts' TOTP reset and unlock from ``iamctl``. Both stores."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.domain.security import Role
from tests.support.console import ConsoleHttp, Staff
from tests.support.db import TestDatabase

runner = CliRunner()


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database: TestDatabase, console_service: Container
) -> Container:
    monkeypatch.setenv("IAM_DATABASE_URL", database.url)
    monkeypatch.setenv("IAM_DEMO_MODE", "1")
    monkeypatch.setenv("IAM_SCHEDULER_ENABLED", "0")
    if database.schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", database.schema)
    return console_service


def test_an_operator_makes_the_first_security_officer_who_grants_the_others(
    cli_env: Container, staff: Staff, console_http: ConsoleHttp
) -> None:
    officer = staff.person("E6001")
    staff.person("E6002")
    made = runner.invoke(
        app, ["roles", "grant", "E6001", "security_officer", "--reason", "appointed"]
    )
    assert made.exit_code == 0, made.output
    tc = console_http.sign_in(officer)
    csrf = {"X-CSRF-Token": console_http.csrf(tc, "/console/")}

    given = tc.post(
        "/api/v1/console-roles",
        json={"employee_id": "E6002", "role": "auditor", "reason": "ISMS audit"},
        headers=csrf,
    )
    own = tc.post(
        "/api/v1/console-roles",
        json={"employee_id": "E6001", "role": "hr", "reason": "also HR"},
        headers=csrf,
    )
    conflict = tc.post(
        "/api/v1/console-roles",
        json={"employee_id": "E6002", "role": "sysadmin", "reason": "cover"},
        headers=csrf,
    )
    head = tc.post(
        "/api/v1/console-roles",
        json={"employee_id": "E6002", "role": "department_head", "reason": "x"},
        headers=csrf,
    )

    assert given.status_code == 201, given.text
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "segregation_of_duties"
    assert conflict.status_code == 403  # an auditor changes nothing (5.35)
    assert head.status_code == 422
    listed = runner.invoke(app, ["roles", "list"])
    assert "E6002" in listed.output and "auditor" in listed.output
    with cli_env.uow() as uow:
        actions = [r.action for r in uow.audit.for_target("person:E6002")]
    assert "console_role.granted" in actions


def test_nobody_revokes_their_own_role_but_another_officer_can(
    cli_env: Container, staff: Staff
) -> None:
    staff.person("E6003", roles=(Role.SECURITY_OFFICER,))
    mine = runner.invoke(
        app,
        [
            "roles",
            "revoke",
            "E6003",
            "security_officer",
            "--reason",
            "x",
            "--by",
            "E6003",
        ],
    )
    theirs = runner.invoke(
        app,
        [
            "roles",
            "revoke",
            "E6003",
            "security_officer",
            "--reason",
            "moved",
            "--by",
            "E6004",
        ],
    )

    assert mine.exit_code == 1 and "own" in mine.output
    assert theirs.exit_code == 0, theirs.output
    assert cli_env.console.roles.roles("E6003") == frozenset()


def test_a_department_head_holds_the_role_while_heading_the_department(
    staff: Staff,
) -> None:
    staff.person("E6005", head_of="FIN")
    roles = staff.container.console.roles

    assert roles.roles("E6005") == {Role.DEPARTMENT_HEAD}
    staff.terminate("E6005")
    assert roles.roles("E6005") == frozenset()


def test_totp_reset_and_unlock_from_the_command_line(
    cli_env: Container, staff: Staff, console_http: ConsoleHttp
) -> None:
    password = staff.local_user("breakglass", (Role.SYSADMIN,))
    console_http.enrol(console_http.client(), "breakglass", password)
    for _ in range(5):
        console_http.local(console_http.client(), "breakglass", "wrong-wrong-wrong")

    unlocked = runner.invoke(app, ["user", "unlock", "breakglass", "--reason", "me"])
    reset = runner.invoke(
        app, ["user", "totp-reset", "breakglass", "--reason", "lost phone"]
    )

    assert unlocked.exit_code == 0 and reset.exit_code == 0, reset.output
    again = console_http.local(console_http.client(), "breakglass", password)
    assert again.status_code == 200 and "totp-secret" in again.text  # enrols anew
