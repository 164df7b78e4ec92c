"""The foundation's scenario on the real Samba AD: 20 hires across
departments, 3 transfers and 2 terminations, checked by direct LDAP reads and
binds, then replayed to show that nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from ldap3.core.exceptions import LDAPException

from iam_service.bootstrap import Container
from iam_service.domain.hr import HrEvent
from iam_service.services import audit_trail
from tests.support.ad_service import AdTarget
from tests.support.samba import SambaDc
from tests.support.service import drain, event, hire
from tools.samba_directory import connect

pytestmark = pytest.mark.samba

DEPARTMENTS = [
    ("SALES", "Staff"),
    ("SALES", "Manager"),
    ("ENG", "Engineer"),
    ("ENG", "Lead Engineer"),
    ("FIN", "Clerk"),
    ("FIN", "Manager"),
    ("HR", "Staff"),
    ("IT", "System Administrator"),
    ("GA", "Staff"),
    ("ENG", "Engineer"),
]
EXPECTED = {
    ("SALES", "Staff"): {"GG-All-Staff", "GG-Sales"},
    ("SALES", "Manager"): {"GG-All-Staff", "GG-Sales", "GG-Sales-Managers"},
    ("ENG", "Engineer"): {"GG-All-Staff", "GG-Engineering"},
    ("ENG", "Lead Engineer"): {"GG-All-Staff", "GG-Engineering", "GG-Eng-Leads"},
    ("FIN", "Clerk"): {"GG-All-Staff", "GG-Finance"},
    ("FIN", "Manager"): {"GG-All-Staff", "GG-Finance-Approvers"},  # 5.3
    ("HR", "Staff"): {"GG-All-Staff", "GG-HR"},
    ("IT", "System Administrator"): {"GG-All-Staff", "GG-IT"},
    ("GA", "Staff"): {"GG-All-Staff", "GG-General-Affairs"},
}
TRANSFERS = {3: ("FIN", "Clerk"), 8: ("SALES", "Manager"), 15: ("HR", "Staff")}
TERMINATED = (5, 12)


def _people(tag: str) -> list[dict[str, Any]]:
    people = []
    for n in range(20):
        department, title = DEPARTMENTS[n % len(DEPARTMENTS)]
        people.append(
            hire(
                f"S{tag}{n:02d}",
                department,
                title,
                given_name="Test",
                family_name=f"P{n:02d}{tag}",
            )
        )
    return people


def _events(tag: str) -> list[dict[str, Any]]:
    events = _people(tag)
    for n, (department, title) in TRANSFERS.items():
        events.append(
            event(
                "update",
                f"S{tag}{n:02d}",
                f"move-{tag}-{n}",
                department=department,
                title=title,
            )
        )
    events += [
        event("terminate", f"S{tag}{n:02d}", f"leave-{tag}-{n}") for n in TERMINATED
    ]
    return events


def _directory(dc: SambaDc, target: AdTarget) -> dict[str, dict[str, Any]]:
    """Every account under the sandbox, read straight from LDAP."""
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            "(objectClass=user)",
            attributes=[
                "sAMAccountName",
                "userAccountControl",
                "memberOf",
                "employeeID",
            ],
        )
        found = {}
        for entry in connection.entries:
            groups = {
                str(g).split(",", 1)[0].removeprefix("CN=")
                for g in entry.memberOf.values
            }
            found[str(entry.employeeID)] = {
                "dn": entry.entry_dn,
                "username": str(entry.sAMAccountName),
                "enabled": not int(entry.userAccountControl.value) & 0x2,
                "groups": groups,
            }
        return found
    finally:
        connection.unbind()


def _submit_all(c: Container, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        c.hr_intake.submit(HrEvent.model_validate(e), actor="token:hr-system")
        for e in events
    ]


def test_hires_transfers_and_terminations_reach_ad_and_replays_change_nothing(
    ad_service: Container, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    tag = ad_target.sandbox.tag[:4]
    events = _events(tag)
    results = _submit_all(ad_service, events[:20])
    drain(ad_service)

    # A known password on one future leaver, to show that their bind fails later.
    leaver = _directory(samba_dc, ad_target)[f"S{tag}05"]
    admin = connect(
        samba_dc.url, samba_dc.admin_user, samba_dc.admin_password, samba_dc.ca_file
    )
    password = "Leaver-Test-Pw-9x!"  # dummy (8.33)
    admin.extend.microsoft.modify_password(leaver["dn"], password)
    admin.unbind()
    connect(
        samba_dc.url,
        f"{leaver['username']}@{samba_dc.upn_suffix}",
        password,
        samba_dc.ca_file,
    ).unbind()

    results += _submit_all(ad_service, events[20:])
    drain(ad_service)
    directory = _directory(samba_dc, ad_target)
    assert len(directory) == 20
    for n in range(20):
        account = directory[f"S{tag}{n:02d}"]
        if n in TERMINATED:
            assert not account["enabled"], account
            assert account["groups"] == set(), account
            assert account["dn"].endswith(ad_target.sandbox.leavers)
            continue
        position = TRANSFERS.get(n, DEPARTMENTS[n % len(DEPARTMENTS)])
        assert account["enabled"], account
        assert account["groups"] == EXPECTED[position], (n, account)
        assert account["dn"].endswith(ad_target.sandbox.people)
    with pytest.raises(LDAPException, match="data 52e"):  # the password was scrambled
        connect(
            samba_dc.url,
            f"{leaver['username']}@{samba_dc.upn_suffix}",
            password,
            samba_dc.ca_file,
        )

    report = audit_trail.verify(ad_service.uow)
    assert report.ok and report.checked > 100

    with ad_service.uow() as uow:
        operations_before = len(uow.operations.list(limit=10_000))
    assert _submit_all(ad_service, events) == results
    assert drain(ad_service) == 0
    with ad_service.uow() as uow:
        assert len(uow.operations.list(limit=10_000)) == operations_before
    assert _directory(samba_dc, ad_target) == directory
