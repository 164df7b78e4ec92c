"""Privileged accounts on the real Samba AD: nested memberships discovered
(8.2), a handover that rotates two admin accounts (5.18) checked with
direct ldap3 binds, each new password shown once to the successor after a
fresh sign-in and the link then 410 Gone (5.17), and no generated password
anywhere it must not be: the database (plain or base64), the logs (the
test's and the worker process's), the audit trail, the e-mails.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
from fastapi.testclient import TestClient
from ldap3.core.exceptions import LDAPBindError, LDAPInvalidCredentialsResult
from ldap3.utils.dn import escape_rdn
from sqlalchemy import select

from connectors.ad_attributes import password_value
from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.privileged_requests import CustodianChange, HandoverCreate
from tests.support.ad_service import (
    AdTarget,
    ad_container,
    connectors_file,
    iamctl_env,
    start_worker,
)
from tests.support.console import ConsoleHttp, Member, Staff, console_settings, csrf_of
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.leaks import database_dump, find_leaks
from tests.support.privileged import OFFICER, SYSADMIN, policy_marking_privileged
from tests.support.samba import AdSandbox, SambaDc
from tests.support.service import drain
from tests.support.smtp import SmtpServer
from tools.samba_directory import connect

pytestmark = pytest.mark.samba
OLD = ("Old-Admin-Passw0rd!a", "Old-Admin-Passw0rd!b")
DOMAIN_ADMINS_RID = 512


@dataclass
class Lab:
    container: Container
    sandbox: AdSandbox
    admins_group: str  # marked privileged in the test policy


def _group(ad_admin: Any, sandbox: AdSandbox, name: str, members: list[str]) -> str:
    dn = f"CN={escape_rdn(name)},{sandbox.groups}"
    ad_admin.add(
        dn,
        ["top", "group"],
        {"sAMAccountName": name, "groupType": str(-2147483646)},  # global security
    )
    for member in members:
        ad_admin.modify(dn, {"member": [(ldap3.MODIFY_ADD, [member])]})
    return dn


def _user(ad_admin: Any, sandbox: AdSandbox, name: str, password: str) -> str:
    dn = f"CN={escape_rdn(name)},{sandbox.people}"
    ad_admin.add(
        dn,
        ["top", "person", "organizationalPerson", "user"],
        {
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@corp.example.test",
            "unicodePwd": password_value(password),
            "userAccountControl": "512",
        },
    )
    return dn


def binds(dc: SambaDc, username: str, password: str) -> bool:
    try:
        connect(dc.url, f"{username}@corp.example.test", password, dc.ca_file).unbind()
    except (LDAPBindError, LDAPInvalidCredentialsResult):
        return False
    return True


@pytest.fixture
def lab(
    database: TestDatabase,
    ad_target: AdTarget,
    ad_admin: Any,
    clock: FrozenClock,
    graph_server: GraphServer,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> Iterator[Lab]:
    sandbox = ad_target.sandbox
    admins = f"ga-{sandbox.tag}"
    policy = policy_marking_privileged(tmp_path / "policies", [admins])
    container = ad_container(
        database,
        ad_target,
        clock,
        policy_dir=policy,
        **smtp_server.service_settings(),
        **console_settings(graph_server),
    )
    yield Lab(container, sandbox, admins)
    container.close()


def test_nested_membership_of_privileged_groups_is_discovered(
    lab: Lab, ad_admin: Any
) -> None:
    sandbox = lab.sandbox
    direct = _user(ad_admin, sandbox, sandbox.unique_name("direct"), OLD[0])
    deep = _user(ad_admin, sandbox, sandbox.unique_name("deep"), OLD[1])
    oncall = _group(ad_admin, sandbox, f"go-{sandbox.tag}", [deep])
    ops = _group(ad_admin, sandbox, f"gp-{sandbox.tag}", [oncall])
    _group(ad_admin, sandbox, lab.admins_group, [direct, ops])
    leftover = _user(ad_admin, sandbox, sandbox.unique_name("stale"), OLD[0])
    ad_admin.modify(leftover, {"adminCount": [(ldap3.MODIFY_REPLACE, ["1"])]})

    [report] = lab.container.privileged.discovery.discover("ad", actor="test")

    assert report.error is None
    found = {a["username"]: a for a in lab.container.privileged.inventory.accounts()}
    assert found[sandbox.unique_name("direct")]["rights"] == [lab.admins_group]
    assert found[sandbox.unique_name("deep")]["rights"] == [
        f"{lab.admins_group} (via go-{sandbox.tag})"
    ]
    stale = found[sandbox.unique_name("stale")]
    assert stale["rights"] == ["adminCount=1"] and "possibly_stale" in stale["flags"]
    # The built-in groups are read too: the domain's Administrator.
    assert "Domain Admins" in found["Administrator"]["rights"]


def test_nested_domain_admins_membership_is_discovered(
    lab: Lab, ad_admin: Any, samba_dc: SambaDc
) -> None:
    sandbox = lab.sandbox
    user = _user(ad_admin, sandbox, sandbox.unique_name("da"), OLD[0])
    nested = _group(ad_admin, sandbox, f"gd-{sandbox.tag}", [user])
    domain_admins = f"CN=Domain Admins,CN=Users,{samba_dc.base_dn}"
    ad_admin.modify(domain_admins, {"member": [(ldap3.MODIFY_ADD, [nested])]})
    try:
        lab.container.privileged.discovery.discover("ad", actor="test")
    finally:  # the shared DC's real Domain Admins: never leave our group in it
        ad_admin.modify(domain_admins, {"member": [(ldap3.MODIFY_DELETE, [nested])]})
    [account] = [
        a
        for a in lab.container.privileged.inventory.accounts()
        if a["username"] == sandbox.unique_name("da")
    ]
    # Domain Admins sits in the builtin Administrators: both are found.
    assert f"Domain Admins (via gd-{sandbox.tag})" in account["rights"]
    assert any(r.startswith("Administrators (via") for r in account["rights"])


def _handover(lab: Lab, ad_admin: Any, staff: Staff) -> tuple[Member, list[str]]:
    """Two admin accounts looked after by E-out; handed over to E-in."""
    sandbox = lab.sandbox
    names = [sandbox.unique_name("adm1"), sandbox.unique_name("adm2")]
    dns = [_user(ad_admin, sandbox, n, p) for n, p in zip(names, OLD, strict=True)]
    _group(ad_admin, sandbox, lab.admins_group, dns)
    outgoing = staff.person(f"E{sandbox.tag[:5]}1", department="IT", entra=False)
    lab.container.privileged.discovery.discover("ad", actor="test")
    for account in lab.container.privileged.inventory.accounts():
        if account["username"] in names:
            lab.container.privileged.inventory.add_custodian(
                account["id"],
                CustodianChange(employee_id=outgoing.employee_id),
                SYSADMIN,
            )
    return outgoing, names


def _collect(tc: TestClient, handover_id: int) -> list[str]:
    """Open each rotation's one-time link, reveal it once, and see 410 after."""
    page = tc.get(f"/console/privileged/handovers/{handover_id}")
    assert page.status_code == 200, page.text
    rotations = re.findall(
        r'action="/console/privileged/rotations/(\d+)/link"', page.text
    )
    assert len(rotations) == 2
    shown = []
    for rotation_id in rotations:
        link = tc.post(
            f"/console/privileged/rotations/{rotation_id}/link",
            data={"csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert link.status_code == 303, link.text
        path = link.headers["location"]
        ready = tc.get(path)
        assert ready.status_code == 200
        assert 'data-testid="password"' not in ready.text  # shown only on POST
        answer = tc.post(path, data={"csrf_token": csrf_of(ready.text)})
        assert answer.status_code == 200, answer.text
        value = re.search(r'data-testid="password"[^>]*>([^<]+)<', answer.text)
        assert value, "the password is shown"
        shown.append(html.unescape(value.group(1)))
        again = tc.post(path, data={"csrf_token": csrf_of(ready.text)})
        assert again.status_code == 410
        assert tc.get(path).status_code == 410
        page = tc.get(f"/console/privileged/handovers/{handover_id}")
    return shown


def test_a_handover_rotates_two_admin_accounts_shown_once_to_the_successor(
    lab: Lab,
    ad_admin: Any,
    samba_dc: SambaDc,
    graph_server: GraphServer,
    clock: FrozenClock,
) -> None:
    staff = Staff(lab.container, graph_server)
    outgoing, names = _handover(lab, ad_admin, staff)
    successor = staff.person(f"E{lab.sandbox.tag[:5]}2", department="IT")
    assert all(binds(samba_dc, n, p) for n, p in zip(names, OLD, strict=True))

    view = lab.container.privileged.handovers.start(
        HandoverCreate(
            outgoing_employee_id=outgoing.employee_id,
            successor_employee_id=successor.employee_id,
        ),
        OFFICER,
    )
    drain(lab.container)

    verified = lab.container.privileged.handovers.view(view["id"])["rotations"]
    assert {r["state"] for r in verified} == {"verified"}
    assert all(r["checks"] == ["new_binds", "last_change_moved"] for r in verified)
    assert not any(binds(samba_dc, n, p) for n, p in zip(names, OLD, strict=True))

    http = ConsoleHttp(lab.container, graph_server)
    try:
        tc = http.sign_in(successor)
        # A sign-in older than IAM_SECRET_REAUTH_MINUTES: sign in again first.
        clock.advance(timedelta(minutes=6))
        page = tc.get(f"/console/privileged/handovers/{view['id']}")
        rotation = re.search(r'rotations/(\d+)/link"', page.text)
        assert rotation
        link = tc.post(
            f"/console/privileged/rotations/{rotation.group(1)}/link",
            data={"csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        stale = tc.get(link.headers["location"])
        assert stale.status_code == 401 and "reauth=1" in stale.text
        assert tc.get("/console/sign-in?reauth=1&next=/console/").status_code == 200
        assert http.sso(tc, successor).status_code == 303  # a fresh sign-in
        shown = _collect(tc, view["id"])
    finally:
        http.close()
    by_name = dict(zip(names, OLD, strict=True))
    assert len(set(shown)) == 2 and not set(shown) & set(by_name.values())
    for name in names:
        assert sum(binds(samba_dc, name, p) for p in shown) == 1
    done = lab.container.privileged.handovers.view(view["id"])
    assert done["status"] == "done"
    assert {r["state"] for r in done["rotations"]} == {"shown"}
    assert lab.container.privileged.store.get(f"rotation-{verified[0]['id']}") is None


def test_no_generated_password_leaks_anywhere(
    lab: Lab,
    ad_admin: Any,
    ad_target: AdTarget,
    database: TestDatabase,
    graph_server: GraphServer,
    smtp_server: SmtpServer,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    staff = Staff(lab.container, graph_server)
    outgoing, _ = _handover(lab, ad_admin, staff)
    successor = staff.person(f"E{lab.sandbox.tag[:5]}3", department="IT")
    view = lab.container.privileged.handovers.start(
        HandoverCreate(
            outgoing_employee_id=outgoing.employee_id,
            successor_employee_id=successor.employee_id,
        ),
        OFFICER,
    )
    # The rotations run in an ``iamctl worker`` process, as in production.
    env = iamctl_env(
        database,
        ad_target,
        connectors_file(tmp_path / "connectors.yaml", ad_target),
        IAM_LOG_LEVEL="DEBUG",
    )
    worker_log = tmp_path / "worker.log"
    worker = start_worker(env, worker_log, "--once")
    assert worker.wait(timeout=120) == 0, worker_log.read_text()
    rotations = lab.container.privileged.handovers.view(view["id"])["rotations"]
    assert {r["state"] for r in rotations} == {"verified"}
    lab.container.mail.deliver_due()
    http = ConsoleHttp(lab.container, graph_server)
    try:
        shown = _collect(http.sign_in(successor), view["id"])
    finally:
        http.close()
    with lab.container.session_factory() as session:
        audit = "\n".join(
            f"{r.action} {r.target} {r.before} {r.after} {r.reason}"
            for r in session.execute(select(orm.audit_records))
        )
    places = {
        "database": database_dump(lab.container.engine, database.schema),
        "audit trail": audit,
        "test logs": caplog.text,
        "worker log": worker_log.read_text(),
        "e-mails": "\n".join(f"{m.subject}\n{m.body}" for m in smtp_server.messages),
    }
    assert smtp_server.messages, "the successor was told where to collect"
    assert len(shown) == 2
    assert find_leaks(shown, places) == []
