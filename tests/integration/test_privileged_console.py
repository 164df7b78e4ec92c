"""The security officer's inventory page and ``iamctl privileged``: what a
person sees and can do (discovery, flags, an approval, a manual account,
the CLI's refusals)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.domain.security import Role
from tests.support.console import ConsoleHttp, Staff, csrf_of
from tests.support.db import TestDatabase
from tests.support.privileged import admin_account, manual_system, person
from tests.support.service import build

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
