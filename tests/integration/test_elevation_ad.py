"""Privileged elevation, grant expiry and drift on the real Samba AD, checked
by direct LDAP reads: an approved elevation is added and gone after its
hours (across a restart of the service), a refused break-glass use ends at
once, an expired request grant is removed, and ``iamctl reconcile`` finds a
group added by hand, a membership removed by hand and an orphan account.

The privileged entitlement is the sandbox's own group, marked privileged in
a test policy directory: the shared DC's real Domain Admins is left alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from iam_service.bootstrap import Container
from iam_service.cli import app as iamctl
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.settings import REPO_ROOT
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import hire_all, person_client, staff
from tests.support.ad_service import AdTarget, ad_container, connectors_file
from tests.support.db import TestDatabase
from tests.support.samba import SambaDc
from tests.support.service import drain
from tools.samba_directory import connect

pytestmark = pytest.mark.samba


@pytest.fixture
def policy_dir(tmp_path: Path, ad_target: AdTarget) -> Path:
    """The shipped policy, with the sandbox's staff group as a privileged
    entitlement that drift removes, and the finance group as report-only."""
    directory = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", directory)
    path = directory / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    catalogue["entitlements"].append(
        {
            "ref": f"ad:{_admins(ad_target)}",
            "name": "Sandbox administrators",
            "privileged": True,
            "classification": "strictly_confidential",
            "requestable": False,
        }
    )
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    drift = directory / "reconciliation.yaml"
    rules = yaml.safe_load(drift.read_text(encoding="utf-8"))
    rules["reconciliation"]["entitlements"][f"ad:{_admins(ad_target)}"] = {
        "remove_unexpected": True
    }
    drift.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return directory


def _admins(target: AdTarget) -> str:
    return target.sandbox.group_names[0]


@pytest.fixture
def service(
    database: TestDatabase, ad_target: AdTarget, policy_dir: Path, clock: FrozenClock
) -> Iterator[Container]:
    container = ad_container(database, ad_target, clock, policy_dir=policy_dir)
    yield container
    container.close()


def _groups(dc: SambaDc, target: AdTarget, employee_id: str) -> set[str]:
    """The account's groups, read straight from LDAP (not the connector)."""
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root, f"(employeeID={employee_id})", attributes=["memberOf"]
        )
        [entry] = connection.entries
        return {str(g).split(",", 1)[0].removeprefix("CN=") for g in entry.memberOf}
    finally:
        connection.unbind()


def _clients(c: Container, tag: str) -> dict[str, TestClient]:
    return {
        "sysadmin": person_client(c, Role.SYSADMIN, f"A{tag}"),
        "security": person_client(c, Role.SECURITY_OFFICER, f"O{tag}"),
    }


def _job(c: Container, name: str) -> None:
    assert run_exclusive(c, next(j for j in JOBS if j.name == name))


def test_an_elevation_is_added_and_gone_after_its_hours_across_a_restart(
    service: Container,
    database: TestDatabase,
    ad_target: AdTarget,
    samba_dc: SambaDc,
    policy_dir: Path,
    clock: FrozenClock,
) -> None:
    tag = ad_target.sandbox.tag[:6]
    admins = _admins(ad_target)
    hire_all(service, staff(f"A{tag}", "IT", "System Administrator"))
    hire_all(service, staff(f"O{tag}", "GA", "Security Officer"))
    drain(service)
    http = _clients(service, tag)
    asked = http["sysadmin"].post(
        "/api/v1/elevations",
        json={"entitlement": f"ad:{admins}", "hours": 3, "reason": "CHG-2001"},
    )
    assert asked.status_code == 201, asked.text
    eid = asked.json()["id"]
    own = person_client(service, Role.SECURITY_OFFICER, f"A{tag}")
    assert own.post(f"/api/v1/elevations/{eid}/approve").status_code == 403  # 5.3
    approved = http["security"].post(f"/api/v1/elevations/{eid}/approve")
    assert approved.status_code == 200, approved.text
    drain(service)
    assert admins in _groups(samba_dc, ad_target, f"A{tag}")
    for client in (*http.values(), own):
        client.close()
    service.close()  # the service stops between approval and expiry

    later = FrozenClock(clock.now() + timedelta(hours=3, seconds=1))
    restarted = ad_container(database, ad_target, later, policy_dir=policy_dir)
    try:
        _job(restarted, "expire_grants")
        drain(restarted)
        groups = _groups(samba_dc, ad_target, f"A{tag}")
        assert admins not in groups and "GG-IT" in groups
        with restarted.uow() as uow:
            actions = [r.action for r in uow.audit.for_target(f"elevation:{eid}")]
        assert actions == [
            "elevation.requested",
            "elevation.approved",
            "elevation.expired",
        ]
    finally:
        restarted.close()


def test_a_break_glass_use_escalates_and_a_refusal_ends_it_at_once(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc, clock: FrozenClock
) -> None:
    tag = ad_target.sandbox.tag[:6]
    admins = _admins(ad_target)
    hire_all(service, staff(f"A{tag}", "IT", "System Administrator"))
    hire_all(service, staff(f"O{tag}", "GA", "Security Officer"))
    drain(service)
    http = _clients(service, tag)
    taken = http["sysadmin"].post(
        "/api/v1/elevations/break-glass",
        json={"entitlement": f"ad:{admins}", "hours": 1, "reason": "DC outage"},
    )
    assert taken.status_code == 201, taken.text
    eid = taken.json()["id"]
    drain(service)
    assert admins in _groups(samba_dc, ad_target, f"A{tag}")
    clock.advance(timedelta(minutes=61))
    _job(service, "escalate_break_glass")
    with service.uow() as uow:
        kinds = [
            n.kind
            for n in uow.notices.open(str(Role.SECURITY_OFFICER))
            if n.subject == f"elevation:{eid}"
        ]
    assert kinds == ["elevation_break_glass", "elevation_escalation"]
    refused = http["security"].post(
        f"/api/v1/elevations/{eid}/reject", json={"reason": "no outage on record"}
    )
    assert refused.status_code == 200 and refused.json()["status"] == "rejected"
    drain(service)
    assert admins not in _groups(samba_dc, ad_target, f"A{tag}")
    for client in http.values():
        client.close()


def test_an_expired_request_grant_is_removed_from_ad(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc, clock: FrozenClock
) -> None:
    tag = ad_target.sandbox.tag[:6]
    hire_all(service, staff(f"H{tag}", "ENG", "Manager"), staff(f"M{tag}", "ENG"))
    hire_all(service, staff(f"A{tag}", "IT", "System Administrator"))
    drain(service)
    hr = person_client(service, Role.HR, None)
    assert (
        hr.put(
            "/api/v1/departments/ENG/head", json={"employee_id": f"H{tag}"}
        ).status_code
        == 200
    )
    member = person_client(service, None, f"M{tag}")
    head = person_client(service, Role.DEPARTMENT_HEAD, f"H{tag}")
    admin = person_client(service, Role.SYSADMIN, f"A{tag}")
    end = date(2026, 11, 27)  # two days ahead, Tokyo time
    asked = member.post(
        "/api/v1/access-requests",
        json={
            "employee_id": f"M{tag}",
            "item": "ad:GG-IT",
            "justification": "on-call rota this week",
            "end_date": str(end),
        },
    )
    assert asked.status_code == 201, asked.text
    rid = asked.json()["id"]
    assert head.post(f"/api/v1/access-requests/{rid}/approve").status_code == 200
    assert admin.post(f"/api/v1/access-requests/{rid}/approve").status_code == 200
    drain(service)
    assert "GG-IT" in _groups(samba_dc, ad_target, f"M{tag}")
    clock.advance(timedelta(days=3))
    _job(service, "expire_grants")
    drain(service)
    groups = _groups(samba_dc, ad_target, f"M{tag}")
    assert "GG-IT" not in groups and "GG-Engineering" in groups
    for client in (hr, member, head, admin):
        client.close()


@pytest.fixture
def iamctl_env(
    monkeypatch: pytest.MonkeyPatch,
    database: TestDatabase,
    ad_target: AdTarget,
    policy_dir: Path,
    tmp_path: Path,
) -> None:
    """``iamctl`` configured as an operator would: env and a connectors file."""
    values = {
        "IAM_DATABASE_URL": database.url,
        "IAM_DEMO_MODE": "1",
        "IAM_SCHEDULER_ENABLED": "0",
        "IAM_POLICY_DIR": str(policy_dir),
        "IAM_CONNECTORS_FILE": str(connectors_file(tmp_path / "c.yaml", ad_target)),
        "IAM_AD_BIND_PASSWORD": ad_target.settings.bind_password.reveal(),
    }
    if database.schema:
        values["IAM_DATABASE_SCHEMA"] = database.schema
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def _by_hand(dc: SambaDc, target: AdTarget, change: Any) -> None:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        change(connection)
    finally:
        connection.unbind()


@pytest.mark.usefixtures("iamctl_env")
def test_iamctl_reconcile_finds_and_fixes_drift_made_by_hand(
    database: TestDatabase, ad_target: AdTarget, samba_dc: SambaDc, policy_dir: Path
) -> None:
    real_time = FrozenClock(datetime.now(UTC))  # iamctl runs on the real clock
    service = ad_container(  # the service as the test drives it, beside iamctl
        database, ad_target, real_time, policy_dir=policy_dir, connectors_file=None
    )
    try:
        _scenario(service, ad_target, samba_dc, real_time)
    finally:
        service.close()


def _scenario(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc, clock: FrozenClock
) -> None:
    tag, admins = ad_target.sandbox.tag[:6], _admins(ad_target)
    hire_all(service, staff(f"P{tag}", "SALES"), staff(f"Q{tag}", "SALES"))
    drain(service)
    people, groups = ad_target.sandbox.people, ad_target.sandbox.groups
    p_dn = f"CN={_username(service, f'P{tag}')},{people}"
    q_dn = f"CN={_username(service, f'Q{tag}')},{people}"
    finance = f"CN=GG-Finance,{ad_target.groups_ou}"
    sales = f"CN=GG-Sales,{ad_target.groups_ou}"

    def drift(c: Any) -> None:
        c.modify(f"CN={admins},{groups}", {"member": [(ldap3.MODIFY_ADD, [p_dn])]})
        c.modify(finance, {"member": [(ldap3.MODIFY_ADD, [p_dn])]})
        c.modify(sales, {"member": [(ldap3.MODIFY_DELETE, [q_dn])]})
        c.add(
            f"CN=stray-{tag},{people}",
            ["top", "person", "organizationalPerson", "user"],
            {"sAMAccountName": f"stray-{tag}", "employeeID": f"X{tag}"},
        )

    _by_hand(samba_dc, ad_target, drift)
    result = CliRunner().invoke(iamctl, ["reconcile", "ad", "--apply"])
    assert result.exit_code == 0, result.output
    assert "unexpected" in result.output and f"stray-{tag}" in result.output
    lines = {tuple(line.split("\t")[:3]) for line in result.output.splitlines()}
    assert ("unexpected", "removal_queued", _username(service, f"P{tag}")) in lines
    assert ("unexpected", "reported", _username(service, f"P{tag}")) in lines
    assert ("missing", "addition_queued", _username(service, f"Q{tag}")) in lines
    assert ("orphan", "reported", f"stray-{tag}") in lines
    clock.advance(timedelta(minutes=1))  # to iamctl's time, when it queued them
    drain(service)
    p_groups = _groups(samba_dc, ad_target, f"P{tag}")
    assert admins not in p_groups and "GG-Finance" in p_groups  # report-only
    assert "GG-Sales" in _groups(samba_dc, ad_target, f"Q{tag}")
    with service.uow() as uow:
        notices = [
            n for n in uow.notices.open("sysadmin") if n.kind == "reconcile_findings"
        ]
    assert f"stray-{tag}" in notices[-1].detail


def _username(c: Container, employee_id: str) -> str:
    with c.uow() as uow:
        person = uow.persons.by_employee_id(employee_id)
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
        return account.username
