"""Movers (5.18) on SQLite and PostgreSQL: a transfer swaps the birthright,
withdraws pending requests and puts requested grants before the new
department head, who keeps or removes each; what nobody decides is removed
by the scheduled job, through the queue and audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.access import AccessRequestCreate
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import Person, hire_all, staff
from tests.support.service import drain, event


@pytest.fixture
def moved(
    container: Container, as_person: Person, fake_ad: FakeConnector
) -> dict[str, TestClient]:
    """E101 (SALES) holds two requested groups, then moves to ENG."""
    hire_all(
        container,
        staff("E100", "SALES", "Manager"),
        staff("E101", "SALES"),
        staff("E300", "IT", "System Administrator"),
        staff("E500", "ENG", "Manager"),
    )
    hr = as_person(Role.HR, None)
    for code, head in (("SALES", "E100"), ("ENG", "E500")):
        hr.put(f"/api/v1/departments/{code}/head", json={"employee_id": head})
    clients = {
        "sales_head": as_person(Role.DEPARTMENT_HEAD, "E100"),
        "eng_head": as_person(Role.DEPARTMENT_HEAD, "E500"),
        "sysadmin": as_person(Role.SYSADMIN, "E300"),
        "mover": as_person(Role.DEPARTMENT_HEAD, "E101"),
        "auditor": as_person(Role.AUDITOR, None),
    }
    for item in ("ad:GG-General-Affairs", "ad:GG-IT"):
        rid = (
            clients["sales_head"]
            .post(
                "/api/v1/access-requests",
                json={"employee_id": "E101", "item": item, "justification": "events"},
            )
            .json()["id"]
        )
        approved = clients["sysadmin"].post(f"/api/v1/access-requests/{rid}/approve")
        assert approved.json()["status"] == "approved", approved.text
    pending = clients["sales_head"].post(
        "/api/v1/access-requests",
        json={"employee_id": "E101", "item": "ad:GG-Engineering", "justification": "x"},
    )
    assert pending.status_code == 201
    drain(container)
    container.hr_intake.submit(
        HrEvent.model_validate(
            event("update", "E101", "move-101", department="ENG", title="Engineer")
        ),
        actor="test:hr",
    )
    drain(container)
    return clients


def _groups(fake_ad: FakeConnector) -> set[str]:
    state = fake_ad.find_account(employee_id="E101")
    assert state is not None
    return set(state.groups)


def _reviews(client: TestClient, query: str = "") -> list[dict[str, object]]:
    response = client.get(f"/api/v1/mover-reviews{query}")
    assert response.status_code == 200, response.text
    reviews: list[dict[str, object]] = response.json()["reviews"]
    return reviews


def test_a_transfer_swaps_birthright_and_flags_requested_grants_for_the_new_head(
    container: Container, moved: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    # Birthright swapped at once; requested grants stay until decided.
    assert _groups(fake_ad) == {
        "GG-All-Staff",
        "GG-Engineering",
        "GG-General-Affairs",
        "GG-IT",
    }
    reviews = _reviews(moved["eng_head"], "?status=open")
    assert {
        (r["entitlement"], r["from_department"], r["to_department"]) for r in reviews
    } == {
        ("ad:GG-General-Affairs", "SALES", "ENG"),
        ("ad:GG-IT", "SALES", "ENG"),
    }
    assert _reviews(moved["sales_head"]) == []  # the old head no longer decides
    requests = moved["auditor"].get("/api/v1/access-requests?status=cancelled")
    [withdrawn] = requests.json()["requests"]
    assert withdrawn["item"] == "ad:GG-Engineering"
    assert withdrawn["outcome_reason"] == "moved to ENG"
    with container.uow() as uow:
        [notice] = uow.notices.open("department_head")
    assert "E101 moved from SALES to ENG holding 2 requested grant(s)" in notice.detail


def test_the_new_head_keeps_one_and_removes_the_other(
    container: Container, moved: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    reviews = {r["entitlement"]: r["id"] for r in _reviews(moved["eng_head"])}
    path = "/api/v1/mover-reviews/{}/decision"
    keep = {"decision": "keep", "reason": "runs the office events"}
    assert (
        moved["sales_head"]
        .post(path.format(reviews["ad:GG-IT"]), json=keep)
        .status_code
        == 403
    )  # the old head
    assert (
        moved["mover"].post(path.format(reviews["ad:GG-IT"]), json=keep).status_code
        == 403
    )  # themselves
    kept = moved["eng_head"].post(
        path.format(reviews["ad:GG-General-Affairs"]), json=keep
    )
    assert kept.json()["status"] == "kept", kept.text
    removed = moved["eng_head"].post(
        path.format(reviews["ad:GG-IT"]),
        json={"decision": "remove", "reason": "not needed in engineering"},
    )
    assert removed.json()["status"] == "removed", removed.text
    again = moved["eng_head"].post(path.format(reviews["ad:GG-IT"]), json=keep)
    assert again.status_code == 409
    drain(container)
    assert _groups(fake_ad) == {"GG-All-Staff", "GG-Engineering", "GG-General-Affairs"}


def test_undecided_grants_are_removed_at_the_deadline_by_the_job(
    container: Container,
    moved: dict[str, TestClient],
    fake_ad: FakeConnector,
    clock: FrozenClock,
) -> None:
    job = next(j for j in JOBS if j.name == "remove_undecided_mover_grants")
    clock.advance(timedelta(days=13))
    run_exclusive(container, job)
    drain(container)
    assert "GG-IT" in _groups(fake_ad)  # 14 days by the shipped policy
    clock.advance(timedelta(days=1, minutes=1))
    run_exclusive(container, job)
    drain(container)
    assert _groups(fake_ad) == {"GG-All-Staff", "GG-Engineering"}
    statuses = {r["status"] for r in _reviews(moved["auditor"])}
    assert statuses == {"expired"}
    with container.uow() as uow:
        actions = [r.action for r in uow.audit.for_target("person:E101")]
    assert actions.count("mover_review.expired") == 2
    assert actions.count("grant.removed") >= 2


def test_a_leaver_settles_open_reviews(
    container: Container, moved: dict[str, TestClient]
) -> None:
    container.hr_intake.submit(
        HrEvent.model_validate(event("terminate", "E101", "leave-101")),
        actor="test:hr",
    )
    statuses = {r["status"] for r in _reviews(moved["auditor"])}
    assert statuses == {"closed"}


def test_a_move_into_a_conflict_ends_the_requested_grant_at_once(
    container: Container, as_person: Person, fake_ad: FakeConnector
) -> None:
    """E101 holds GG-Finance on request, then becomes a finance manager,
    whose birthright approves payments: the requested grant ends (5.3)."""
    hire_all(
        container,
        staff("E100", "SALES", "Manager"),
        staff("E101", "SALES"),
        staff("E300", "IT", "System Administrator"),
        staff("E400", "GA"),
    )
    container.departments.set_head("SALES", "E100", Principal("hr", frozenset()))
    request = container.access_requests.create(
        AccessRequestCreate(
            employee_id="E101",
            item="ad:GG-Finance",
            justification="invoices",
            end_date=date(2027, 3, 31),
        ),
        Principal("head", frozenset({Role.DEPARTMENT_HEAD}), "E100"),
    )
    for who in (
        Principal("admin", frozenset({Role.SYSADMIN}), "E300"),
        Principal("officer", frozenset({Role.SECURITY_OFFICER}), "E400"),
    ):
        request = container.access_requests.approve(request["id"], who)
    drain(container)
    assert "GG-Finance" in _groups(fake_ad)
    container.hr_intake.submit(
        HrEvent.model_validate(
            event("update", "E101", "promote-101", department="FIN", title="Manager")
        ),
        actor="test:hr",
    )
    drain(container)
    assert _groups(fake_ad) == {"GG-All-Staff", "GG-Finance-Approvers"}
    with container.uow() as uow:
        assert not uow.mover_reviews.find()  # nothing left to review
        reasons = [
            r.reason
            for r in uow.audit.for_target("person:E101")
            if r.action == "grant.removed"
        ]
    assert any("payment-entry-vs-approval" in r for r in reasons)
