"""Policy changes are changes (8.32), on SQLite and PostgreSQL: ``iamctl
policy plan`` shows who would gain and lose what, activation records the
approver and the diff and applies the new birthright through the queue, a
version removing access from more than the configured share of people
waits for the security officer, and the service reads the active version
without a restart."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.cli import app
from iam_service.domain.access import AccessRequestCreate
from iam_service.domain.operations import OperationStatus
from iam_service.domain.policy_versions import VersionState
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.settings import REPO_ROOT
from tests.support.access import Person, hire_all, staff
from tests.support.db import TestDatabase
from tests.support.service import POLICY_GROUPS, build, drain

runner = CliRunner()
PEOPLE = (
    staff("E100", "SALES", "Manager"),
    staff("E101", "SALES"),
    staff("E102", "SALES"),
    staff("E200", "ENG", "Engineer"),
    staff("E201", "ENG", "Engineer"),
    staff("E300", "IT", "System Administrator"),
)


@pytest.fixture
def fake_ad() -> FakeConnector:
    return FakeConnector(system_id="ad", known_groups={*POLICY_GROUPS, "GG-Wiki"})


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database: TestDatabase) -> TestDatabase:
    for name, value in {
        "IAM_DATABASE_URL": database.url,
        "IAM_DEMO_MODE": "1",
        "IAM_SCHEDULER_ENABLED": "0",
        "IAM_POLICY_DIR": str(REPO_ROOT / "policies"),
    }.items():
        monkeypatch.setenv(name, value)
    if database.schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", database.schema)
    return database


@pytest.fixture
def service(env: TestDatabase, fake_ad: FakeConnector) -> Iterator[Container]:
    # The system clock, like the CLI's. It asks the database on every use,
    # as another process would once its cache (IAM_POLICY_CACHE_SECONDS)
    # expired: the CLI activates in a container of its own.
    container = build(env, {"ad": fake_ad}, policy_cache_seconds=0)
    hire_all(container, *PEOPLE)
    drain(container)
    yield container
    container.close()


def _variant(tmp_path: Path, file: str, *edits: tuple[str, str]) -> Path:
    """The shipped policy with texts replaced in one file."""
    directory = tmp_path / file.removesuffix(".yaml")
    if not directory.exists():
        shutil.copytree(REPO_ROOT / "policies", directory)
    path = directory / file
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return directory


@pytest.fixture
def wiki_for_all(tmp_path: Path) -> Path:
    """Adds only: every member of staff gets the wiki."""
    return _variant(
        tmp_path,
        "catalogue.yaml",
        (
            "entitlements:\n",
            "entitlements:\n  - ref: ad:GG-Wiki\n    name: Wiki\n",
        ),
        (
            "entitlements: [ad:GG-All-Staff]",
            "entitlements: [ad:GG-All-Staff, ad:GG-Wiki]",
        ),
    )


@pytest.fixture
def no_sales_group(tmp_path: Path) -> Path:
    """Removes: sales people lose GG-Sales (3 of 6 people: 50%)."""
    return _variant(
        tmp_path,
        "catalogue.yaml",
        ("    entitlements: [ad:GG-Sales]\n", "    entitlements: []\n"),
    )


def _groups(fake_ad: FakeConnector, employee_id: str) -> set[str]:
    state = fake_ad.find_account(employee_id=employee_id)
    assert state is not None
    return set(state.groups)


def test_plan_shows_per_person_and_per_entitlement_and_changes_nothing(
    service: Container, no_sales_group: Path
) -> None:
    result = runner.invoke(app, ["policy", "plan", str(no_sales_group), "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["population"] == 6
    assert plan["people_losing_access"] == 3
    assert plan["needs_security_officer"] is True
    assert plan["by_entitlement"] == {"ad:GG-Sales": {"granted": 0, "removed": 3}}
    assert {c["employee_id"]: c["removed"] for c in plan["changes"]} == {
        "E100": ["ad:GG-Sales"],
        "E101": ["ad:GG-Sales"],
        "E102": ["ad:GG-Sales"],
    }
    text = runner.invoke(app, ["policy", "plan", str(no_sales_group)])
    assert "3 lose access (50.0%" in text.output
    assert "E101\t-ad:GG-Sales" in text.output
    with service.uow() as uow:
        assert not uow.policy_versions.all()
        assert not uow.operations.list(OperationStatus.PENDING)


def test_activation_records_the_approver_and_applies_the_birthright_through_the_queue(
    service: Container, fake_ad: FakeConnector, wiki_for_all: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "policy",
            "activate",
            str(wiki_for_all),
            "--approver",
            "approver-sato",
            "--reason",
            "wiki for everyone (change 42)",
        ],
    )
    assert result.exit_code == 0, result.output
    with service.uow() as uow:
        [version] = uow.policy_versions.all()
        assert version.state is VersionState.ACTIVE
        assert version.approved_by == "approver-sato"
        assert version.proposed_by.startswith("cli:")
        assert version.diff["grants_added"] == 6
        assert version.diff["people_losing_access"] == 0
        assert version.files == {
            p.name: p.read_text() for p in wiki_for_all.glob("*.yaml")
        }
        [record] = uow.audit.for_target(f"policy:v{version.id}")[-1:]
    assert record.action == "policy.activated" and record.actor == "approver-sato"
    # The running service reads the new version without a restart.
    assert service.policy.version_id == version.id
    assert service.policy().entitlement("ad:GG-Wiki") is not None
    drain(service)
    assert all(
        "GG-Wiki" in _groups(fake_ad, p["employee"]["employee_id"]) for p in PEOPLE
    )
    # A hire now gets the active version's birthright, not the files'.
    hire_all(service, staff("E400", "GA"))
    drain(service)
    assert "GG-Wiki" in _groups(fake_ad, "E400")


def test_removing_access_from_many_waits_for_the_security_officer(
    service: Container, fake_ad: FakeConnector, no_sales_group: Path
) -> None:
    result = runner.invoke(
        app, ["policy", "activate", str(no_sales_group), "--approver", "admin-ito"]
    )
    assert result.exit_code == 3, result.output
    assert "waits for the security officer" in result.output
    with service.uow() as uow:
        [version] = uow.policy_versions.all()
    assert version.state is VersionState.PROPOSED and version.needs_security_officer
    assert service.policy.version_id is None
    drain(service)
    assert "GG-Sales" in _groups(fake_ad, "E101")
    approved = runner.invoke(
        app, ["policy", "approve", str(version.id), "--approver", "officer-kato"]
    )
    assert approved.exit_code == 0, approved.output
    drain(service)
    assert "GG-Sales" not in _groups(fake_ad, "E101")
    with service.uow() as uow:
        version = uow.policy_versions.get(version.id or 0)
    assert version is not None and version.approver_role == "security_officer"


def test_over_the_api_the_proposer_never_approves_and_a_sysadmin_is_not_enough(
    service: Container, as_person: Person, no_sales_group: Path
) -> None:
    files = {p.name: p.read_text() for p in no_sales_group.glob("*.yaml")}
    proposer = as_person(Role.SYSADMIN, "E300")
    proposed = proposer.post("/api/v1/policy/versions", json={"files": files})
    assert proposed.status_code == 201, proposed.text
    vid = proposed.json()["id"]
    assert proposed.json()["needs_security_officer"] is True
    path = f"/api/v1/policy/versions/{vid}/activate"
    own = proposer.post(path)
    assert own.status_code == 403 and "they proposed" in own.json()["error"]["message"]
    other_admin = as_person(Role.SYSADMIN, "E301").post(path)
    assert other_admin.status_code == 403
    assert "security officer" in other_admin.json()["error"]["message"]
    officer = as_person(Role.SECURITY_OFFICER, "E900").post(path, json={"reason": "ok"})
    assert officer.status_code == 200, officer.text
    assert officer.json()["state"] == "active"
    listed = as_person(Role.AUDITOR, None).get("/api/v1/policy/versions").json()
    assert [v["state"] for v in listed["versions"]] == ["active"]


def test_a_typo_in_a_policy_file_is_refused_with_its_line(
    service: Container, as_person: Person, tmp_path: Path
) -> None:
    directory = _variant(
        tmp_path, "access.yaml", ("  mover_review_days: 14", "  mover_reveiw_days: 14")
    )
    access = directory / "access.yaml"
    line = next(
        n
        for n, text in enumerate(access.read_text().splitlines(), 1)
        if "mover_reveiw_days" in text
    )
    checked = runner.invoke(app, ["policy", "check", str(directory)])
    assert checked.exit_code == 1
    assert f"{access}:{line}: unknown key 'mover_reveiw_days' (a typo?)" in (
        checked.output
    )
    files = {p.name: p.read_text() for p in directory.glob("*.yaml")}
    response = as_person(Role.SYSADMIN, "E300").post(
        "/api/v1/policy/versions", json={"files": files}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "policy_invalid"
    assert f"access.yaml:{line}: unknown key" in response.json()["error"]["message"]
    with service.uow() as uow:
        assert not uow.policy_versions.all()


def test_the_parsed_policy_is_cached_by_version(
    service: Container, wiki_for_all: Path
) -> None:
    before = service.policy()
    assert service.policy() is before  # no version change: not parsed again
    runner.invoke(app, ["policy", "activate", str(wiki_for_all), "--approver", "a"])
    after = service.policy()
    assert after is not before and after.entitlement("ad:GG-Wiki") is not None
    assert service.policy() is after


def test_activation_is_refused_while_it_would_create_an_sod_conflict(
    service: Container, as_person: Person, tmp_path: Path
) -> None:
    """E200 holds GG-HR on request; a policy giving engineers payment
    approval would break payroll-vs-payment-approval (5.3)."""
    hire_all(service, staff("E500", "ENG", "Manager"), staff("E900", "GA"))
    service.departments.set_head("ENG", "E500", Principal("hr", frozenset()))
    request = service.access_requests.create(
        AccessRequestCreate(
            employee_id="E200",
            item="ad:GG-HR",
            justification="payroll project",
            end_date=datetime.now(UTC).date() + timedelta(days=30),
        ),
        Principal("head", frozenset({Role.DEPARTMENT_HEAD}), "E500"),
    )
    for who in (
        Principal("admin", frozenset({Role.SYSADMIN}), "E300"),
        Principal("officer", frozenset({Role.SECURITY_OFFICER}), "E900"),
    ):
        request = service.access_requests.approve(request["id"], who)
    assert request["status"] == "approved"
    directory = _variant(
        tmp_path,
        "catalogue.yaml",
        (
            "    entitlements: [ad:GG-Engineering]\n",
            "    entitlements: [ad:GG-Engineering, ad:GG-Finance-Approvers]\n",
        ),
    )
    plan = runner.invoke(app, ["policy", "plan", str(directory), "--json"])
    [change] = [
        c for c in json.loads(plan.output)["changes"] if c["employee_id"] == "E200"
    ]
    assert change["sod_conflicts"] == ["payroll-vs-payment-approval"]
    refused = runner.invoke(
        app, ["policy", "activate", str(directory), "--approver", "a"]
    )
    assert refused.exit_code == 1
    assert "SoD conflicts for E200 (payroll-vs-payment-approval)" in refused.output
    assert service.policy.version_id is None
