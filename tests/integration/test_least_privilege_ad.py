"""Least privilege on the real Samba AD (5.3, 5.16, 5.18, 8.3), checked by
direct LDAP reads: an approved request adds the group, a transfer swaps the
groups and the new head's removal takes the requested one away, and neither
a self-approval nor an SoD conflict ever reaches the directory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from iam_service.bootstrap import Container
from iam_service.domain.access import AccessRequestCreate
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.movers import MoverDecision
from iam_service.domain.security import Role
from iam_service.services import movers
from iam_service.services.access_requests import SodConflictError
from iam_service.services.auth import Principal
from iam_service.services.errors import SegregationOfDutiesError
from tests.support.ad_service import AdTarget, ad_container
from tests.support.db import TestDatabase
from tests.support.samba import SambaDc
from tests.support.service import drain, event, hire
from tools.samba_directory import connect

pytestmark = pytest.mark.samba
ADMIN = Principal("admin", frozenset({Role.SYSADMIN}), "X-ADMIN")
OFFICER = Principal("officer", frozenset({Role.SECURITY_OFFICER}), "X-SEC")
HR = Principal("hr", frozenset({Role.HR}))


@pytest.fixture
def service(
    database: TestDatabase, ad_target: AdTarget, clock: FrozenClock
) -> Iterator[Container]:
    container = ad_container(database, ad_target, clock)
    yield container
    container.close()


class People:
    """Employee ids and heads for one test, unique in the shared domain."""

    def __init__(self, service: Container, target: AdTarget) -> None:
        self.service, self.tag = service, target.sandbox.tag[:4]

    def id(self, n: int) -> str:
        return f"L{self.tag}{n:02d}"

    def hire(self, n: int, department: str, title: str = "Staff") -> str:
        body = hire(self.id(n), department, title, family_name=f"Lp{n:02d}{self.tag}")
        self.service.hr_intake.submit(HrEvent.model_validate(body), actor="test:hr")
        return self.id(n)

    def head(self, department: str, n: int) -> Principal:
        self.service.departments.set_head(
            department, self.hire(n, department, "Manager"), HR
        )
        return Principal(f"head-{n}", frozenset({Role.DEPARTMENT_HEAD}), self.id(n))


def _groups(dc: SambaDc, target: AdTarget, employee_id: str) -> set[str]:
    """The user's groups, read straight from LDAP (memberOf)."""
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(&(objectClass=user)(employeeID={employee_id}))",
            attributes=["memberOf"],
        )
        [entry] = connection.entries
        return {
            str(g).split(",", 1)[0].removeprefix("CN=") for g in entry.memberOf.values
        }
    finally:
        connection.unbind()


def _ask(
    service: Container,
    who: Principal,
    employee_id: str,
    item: str,
    end_date: date | None = None,
) -> int:
    body = AccessRequestCreate(
        employee_id=employee_id, item=item, justification="scenario", end_date=end_date
    )
    return int(service.access_requests.create(body, who)["id"])


def test_an_approved_request_adds_the_group_in_ad(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    people = People(service, ad_target)
    head = people.head("SALES", 0)
    member = people.hire(1, "SALES")
    drain(service)
    assert _groups(samba_dc, ad_target, member) == {"GG-All-Staff", "GG-Sales"}
    request = _ask(
        service, Principal("m", frozenset(), member), member, "ad:GG-Engineering"
    )
    service.access_requests.approve(request, head)
    drain(service)
    assert "GG-Engineering" not in _groups(samba_dc, ad_target, member)  # not yet
    done = service.access_requests.approve(request, ADMIN)
    assert done["status"] == "approved"
    drain(service)
    assert _groups(samba_dc, ad_target, member) == {
        "GG-All-Staff",
        "GG-Sales",
        "GG-Engineering",
    }


def test_a_transfer_swaps_groups_and_the_new_head_removes_a_requested_one(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc, clock: FrozenClock
) -> None:
    people = People(service, ad_target)
    sales_head = people.head("SALES", 0)
    eng_head = people.head("ENG", 1)
    member = people.hire(2, "SALES")
    for item in ("ad:GG-General-Affairs", "ad:GG-IT"):
        request = _ask(service, sales_head, member, item)  # the head applies (5.16)
        service.access_requests.approve(request, ADMIN)
    drain(service)
    assert _groups(samba_dc, ad_target, member) == {
        "GG-All-Staff",
        "GG-Sales",
        "GG-General-Affairs",
        "GG-IT",
    }
    service.hr_intake.submit(
        HrEvent.model_validate(
            event(
                "update", member, f"move-{member}", department="ENG", title="Engineer"
            )
        ),
        actor="test:hr",
    )
    drain(service)
    # Birthright swapped at once; requested groups wait for the new head.
    assert _groups(samba_dc, ad_target, member) == {
        "GG-All-Staff",
        "GG-Engineering",
        "GG-General-Affairs",
        "GG-IT",
    }
    reviews = {r["entitlement"]: r["id"] for r in service.mover_reviews.find(eng_head)}
    service.mover_reviews.decide(
        int(reviews["ad:GG-IT"]), MoverDecision.REMOVE, eng_head, "not in engineering"
    )
    drain(service)
    assert "GG-IT" not in _groups(samba_dc, ad_target, member)
    clock.advance(timedelta(days=15))  # nobody decided on GG-General-Affairs
    assert movers.remove_undecided(service.uow, service.lifecycle) == 1
    drain(service)
    assert _groups(samba_dc, ad_target, member) == {"GG-All-Staff", "GG-Engineering"}


def test_a_self_approval_is_refused_and_nothing_reaches_ad(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    people = People(service, ad_target)
    it_head = people.head("IT", 0)
    admin_id = people.hire(1, "IT", "System Administrator")
    admin = Principal("self", frozenset({Role.SYSADMIN}), admin_id)
    request = _ask(service, admin, admin_id, "ad:GG-Engineering")
    service.access_requests.approve(request, it_head)
    with pytest.raises(SegregationOfDutiesError, match="grants them rights"):
        service.access_requests.approve(request, admin)
    drain(service)
    assert _groups(samba_dc, ad_target, admin_id) == {"GG-All-Staff", "GG-IT"}


def test_an_sod_conflict_is_blocked_and_nothing_reaches_ad(
    service: Container, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    people = People(service, ad_target)
    people.head("FIN", 0)
    clerk = people.hire(1, "FIN", "Clerk")
    with pytest.raises(SodConflictError, match="payment-entry-vs-approval"):
        _ask(
            service,
            Principal("c", frozenset(), clerk),
            clerk,
            "ad:GG-Finance-Approvers",
            end_date=service.clock.now().date() + timedelta(days=10),
        )
    drain(service)
    assert _groups(samba_dc, ad_target, clerk) == {"GG-All-Staff", "GG-Finance"}
    with service.uow() as uow:
        assert not uow.access_requests.find()
