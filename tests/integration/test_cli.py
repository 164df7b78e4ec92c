"""``iamctl`` as an operator uses it: CSV import, the dead-letter list, the
audit check, tokens, policy checks and the start-up refusals."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from connectors.base import PermanentError
from connectors.fake import FakeConnector
from iam_service.adapters import orm
from iam_service.adapters.database import upgrade
from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.settings import REPO_ROOT
from tests.support.db import TestDatabase
from tests.support.service import build, drain, hire

runner = CliRunner()
HEADER = "event_id,type,employee_id,given_name,family_name,email,department,title\n"
GOOD = (
    "c-1,hire,E5001,Hanako,Sato,hanako.sato@example.test,SALES,Staff\n"
    "c-2,hire,E5002,Ken,Abe,ken.abe@example.test,ENG,Engineer\n"
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database: TestDatabase) -> TestDatabase:
    for name, value in {
        "IAM_DATABASE_URL": database.url,
        "IAM_DEMO_MODE": "1",
        "IAM_SCHEDULER_ENABLED": "0",
    }.items():
        monkeypatch.setenv(name, value)
    if database.schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", database.schema)
    return database


@pytest.fixture
def service(env: TestDatabase, fake_ad: FakeConnector) -> Iterator[Container]:
    container = build(env, {"ad": fake_ad})
    yield container
    container.close()


def _persons(c: Container) -> int:
    with c.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(orm.persons)) or 0)


def test_a_csv_with_a_bad_row_applies_nothing_and_names_the_row(
    service: Container, tmp_path: Path
) -> None:
    csv = tmp_path / "hr.csv"
    csv.write_text(
        HEADER + GOOD + "c-3,hire,E5003,Mai,,not-an-email,FIN,Clerk\n"
        "c-4,terminate,E9999,,,,,\n"
    )
    dry = runner.invoke(app, ["hr", "import", str(csv), "--dry-run"])
    assert dry.exit_code == 1
    assert f"{csv}:line 4:" in dry.output and "email" in dry.output
    real = runner.invoke(app, ["hr", "import", str(csv)])
    assert real.exit_code == 1 and "nothing was applied" in real.output
    assert _persons(service) == 0


def test_a_row_the_service_refuses_is_reported_with_its_line(
    service: Container, tmp_path: Path
) -> None:
    csv = tmp_path / "hr.csv"
    csv.write_text(HEADER + GOOD + "c-4,terminate,E9999,,,,,\n")
    result = runner.invoke(app, ["hr", "import", str(csv)])
    assert result.exit_code == 1
    assert "line 4: no person with employee id E9999" in result.output
    assert _persons(service) == 0


def test_a_good_csv_applies_once_and_a_dry_run_applies_nothing(
    service: Container, tmp_path: Path
) -> None:
    csv = tmp_path / "hr.csv"
    csv.write_text(HEADER + GOOD)
    dry = runner.invoke(app, ["hr", "import", str(csv), "--dry-run"])
    assert dry.exit_code == 0 and "would apply 2 row(s)" in dry.output
    assert _persons(service) == 0
    applied = runner.invoke(app, ["hr", "import", str(csv)])
    assert applied.exit_code == 0 and "applied 2 row(s)" in applied.output
    again = runner.invoke(app, ["hr", "import", str(csv)])
    assert again.exit_code == 0 and _persons(service) == 2  # the same events: no-op
    with service.uow() as uow:
        person = uow.persons.by_employee_id("E5002")
        assert person is not None and person.department_code == "ENG"


def test_dead_operations_are_listed(service: Container, fake_ad: FakeConnector) -> None:
    fake_ad.fail_next("create_account", PermanentError("insufficient access rights"))
    service.hr_intake.submit(_event(hire("E5010")), actor="test")
    drain(service)
    result = runner.invoke(app, ["ops", "list", "--dead"])
    assert result.exit_code == 0
    assert (
        "create_account" in result.output
        and "insufficient access rights" in result.output
    )


def test_audit_verify_finds_an_edited_and_a_deleted_record(service: Container) -> None:
    service.hr_intake.submit(_event(hire("E5020")), actor="test")
    service.hr_intake.submit(_event(hire("E5021")), actor="test")
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output
    with service.engine.begin() as c:
        c.execute(
            update(orm.audit_records)
            .where(orm.audit_records.c.seq == 2)
            .values(reason="nothing happened")
        )
        c.execute(text("DELETE FROM audit_records WHERE seq = 4"))
    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "record 2: was edited after it was written" in broken.output
    assert "record 5: records 4..4 are missing" in broken.output


def test_a_token_is_shown_once_and_only_its_hash_is_kept(service: Container) -> None:
    result = runner.invoke(
        app, ["token", "create", "--name", "hr-feed", "--role", "hr"]
    )
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("iam_")
    with service.session_factory() as s:
        stored = s.execute(select(orm.api_tokens)).one()._mapping
    assert token not in str(dict(stored)) and stored["token_hash"] != token
    listed = runner.invoke(app, ["token", "list"])
    assert "hr-feed" in listed.output and token not in listed.output
    assert service.auth.authenticate_token(token) is not None


def test_policy_check_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "policies"
    bad.mkdir()
    (bad / "a.yaml").write_text("departments:\n  - code: X\n    nmae: Typo\n")
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad / 'a.yaml'}:3: unknown key 'nmae'" in result.output
    good = runner.invoke(app, ["policy", "check", str(REPO_ROOT / "policies")])
    assert good.exit_code == 0 and "OK" in good.output


def test_the_service_refuses_to_start_with_a_short_audit_retention(
    tmp_path: Path,
) -> None:
    db = tmp_path / "iam.db"
    upgrade(f"sqlite:///{db}")
    env = {
        "IAM_DATABASE_URL": f"sqlite:///{db}",
        "IAM_DEMO_MODE": "1",
        "IAM_AUDIT_RETENTION_DAYS": "30",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "iam_service", "ops", "list"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "below the 90-day minimum of regulation 8.15" in result.stderr


def test_the_service_refuses_the_default_secret_outside_demo_mode(
    tmp_path: Path,
) -> None:
    env = {
        "IAM_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-m", "iam_service", "ops", "list"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
    )
    assert result.returncode == 2 and "IAM_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        "db upgrade",
        "serve",
        "worker",
        "token create",
        "hr import",
        "policy check",
        "ops list",
        "audit verify",
    ],
)
def test_every_command_explains_itself(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def _event(body: dict[str, object]) -> object:
    from iam_service.domain.hr import HrEvent

    return HrEvent.model_validate(body)
