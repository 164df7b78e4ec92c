"""The security officer's inventory page and ``iamctl privileged``: what a
person sees and can do (discovery, flags, an approval, a manual account,
a handover's verification checks in words and its notice shown once, the
CLI's refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.base import Secret
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.domain.privileged_requests import CustodianChange
from iam_service.domain.security import Role
from tests.support.console import ConsoleHttp, Staff, csrf_of
from tests.support.db import TestDatabase
from tests.support.privileged import SYSADMIN, admin_account, manual_system, person
from tests.support.service import build, drain

runner = CliRunner()


def test_the_officer_sees_flags_and_records_an_approval(
    console_service: Container,
    staff: Staff,
    console_http: ConsoleHttp,
    fake_ad: FakeConnector,
) -> None:
    officer = staff.person("E0600", roles=(Role.SECURITY_OFFICER,))
    admin_account(fake_ad, "adm-console", "Old-Admin-Passw0rd!")
    tc = console_http.sign_in(officer)
    home = tc.get("/console/")
    assert "特権アカウント" in home.text  # the organisation's language (ja)
    page = tc.get("/console/privileged")
    discovered = tc.post(
        "/console/privileged/discover",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert discovered.status_code == 303
    page = tc.get("/console/privileged?flagged=true")
    assert "adm-console" in page.text and 'data-flag="no_approval"' in page.text
    [account] = console_service.privileged.inventory.accounts()
    detail = tc.get(f"/console/privileged/{account['id']}")
    approved = tc.post(
        f"/console/privileged/{account['id']}/approve",
        data={"csrf_token": csrf_of(detail.text), "reason": "domain backups"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    detail = tc.get(approved.headers["location"])
    assert 'data-flag="no_approval"' not in detail.text
    assert "domain backups" in detail.text


def test_a_handover_names_its_checks_in_words_and_says_started_once(
    console_service: Container,
    staff: Staff,
    console_http: ConsoleHttp,
    fake_ad: FakeConnector,
) -> None:
    c = console_service
    officer = staff.person("E0620", roles=(Role.SECURITY_OFFICER,))
    for who in ("E0621", "E0622"):
        staff.person(who)
    ref = admin_account(fake_ad, "adm-words", "Old-Admin-Passw0rd!")
    c.privileged.discovery.discover(None, actor="test")
    [account] = c.privileged.inventory.accounts()
    c.privileged.inventory.add_custodian(
        int(str(account["id"])), CustodianChange(employee_id="E0621"), SYSADMIN
    )
    tc = console_http.sign_in(officer)
    form = tc.get("/console/privileged/handovers")
    started = tc.post(
        "/console/privileged/handovers",
        data={
            "csrf_token": csrf_of(form.text),
            "outgoing": "E0621",
            "successor": "E0622",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303
    page_path = started.headers["location"]
    assert "notice" not in page_path  # the notice is not in the URL
    first = tc.get(page_path)
    assert "引き継ぎを開始しました" in first.text
    drain(c)  # the worker sets and verifies the new password
    assert not fake_ad.check_password(ref, Secret("Old-Admin-Passw0rd!"))
    reloaded = tc.get(page_path)
    assert "引き継ぎを開始しました" not in reloaded.text  # once, not on a reload
    assert 'class="notice"' not in reloaded.text
    for code, words in (
        ("new_binds", "新しいパスワードでログインできる"),
        ("last_change_moved", "パスワード変更日時が更新"),
    ):
        assert f'<li data-check="{code}">{words}</li>' in reloaded.text
    assert "new_binds, last_change_moved" not in reloaded.text
    tc.cookies.set("iam_lang", "en")
    english = tc.get(page_path).text
    assert '<li data-check="new_binds">new password binds</li>' in english
    assert '<li data-check="last_change_moved">password change time moved</li>' in (
        english
    )


def test_a_person_without_the_role_cannot_open_the_inventory(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    someone = staff.person("E0601")
    tc = console_http.sign_in(someone)
    assert tc.get("/console/privileged").status_code == 403
    assert tc.get("/console/privileged/mine").status_code == 200


@pytest.fixture
def cli_service(
    monkeypatch: pytest.MonkeyPatch, database: TestDatabase, fake_ad: FakeConnector
) -> Iterator[Container]:
    for name, value in {
        "IAM_DATABASE_URL": database.url,
        "IAM_DEMO_MODE": "1",
        "IAM_SCHEDULER_ENABLED": "0",
    }.items():
        monkeypatch.setenv(name, value)
    if database.schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", database.schema)
    container = build(database, {"ad": fake_ad})
    yield container
    container.close()


def test_the_cli_registers_lists_exports_and_refuses(
    cli_service: Container, tmp_path: Path
) -> None:
    for who in ("E0610", "E0611"):
        person(cli_service, who)
    key = manual_system(cli_service, "switch")
    registered = runner.invoke(
        app,
        [
            "privileged",
            "register",
            "--system",
            key,
            "--username",
            "admin",
            "--owner",
            "E0610",
            "--custodian",
            "E0610",
        ],
    )
    assert registered.exit_code == 0, registered.output
    listed = runner.invoke(app, ["privileged", "list"])
    assert "switch\tadmin" in listed.output and "no_approval" in listed.output
    out = tmp_path / "privileged.csv"
    assert runner.invoke(app, ["privileged", "export", str(out)]).exit_code == 0
    assert out.read_bytes().startswith("\ufeff".encode())
    handed = runner.invoke(app, ["privileged", "handover", "E0610", "E0611"])
    assert handed.exit_code == 0, handed.output
    assert "1 rotation(s)" in handed.output
    refused = runner.invoke(app, ["privileged", "rotate", "4242"])
    assert refused.exit_code == 1 and "not_found" in refused.output
