"""Access requests over the API on SQLite and PostgreSQL (5.3, 5.16, 8.3):
the approval chain, provisioning through the queue, segregation of duties,
what each role sees, and bad input refused with nothing written."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connectors.fake import FakeConnector
from iam_service.adapters import orm, orm_access
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import GrantSource
from iam_service.domain.security import Role
from tests.support.access import Person, hire_all, staff
from tests.support.service import drain

TODAY = date(2026, 11, 25)  # START in Tokyo


@pytest.fixture
def org(container: Container, as_person: Person) -> dict[str, TestClient]:
    """A small organisation with heads set by HR, and its people's clients."""
    hire_all(
        container,
        staff("E100", "SALES", "Manager"),
        staff("E101", "SALES"),
        staff("E102", "SALES"),
        staff("E200", "FIN", "Manager"),
        staff("E201", "FIN", "Clerk"),
        staff("E300", "IT", "System Administrator"),
        staff("E301", "IT", "System Administrator"),
        staff("E302", "IT", "System Administrator"),
        staff("E400", "GA"),
    )
    hr = as_person(Role.HR, None)
    for code, head in (("SALES", "E100"), ("FIN", "E200"), ("IT", "E301")):
        response = hr.put(
            f"/api/v1/departments/{code}/head", json={"employee_id": head}
        )
        assert response.status_code == 200, response.text
    return {
        "sales_head": as_person(Role.DEPARTMENT_HEAD, "E100"),
        "fin_head": as_person(Role.DEPARTMENT_HEAD, "E200"),
        "it_head": as_person(Role.DEPARTMENT_HEAD, "E301"),
        "e101": as_person(None, "E101"),
        "e102": as_person(None, "E102"),
        "e201": as_person(None, "E201"),
        "sysadmin": as_person(Role.SYSADMIN, "E300"),
        "sysadmin2": as_person(Role.SYSADMIN, "E302"),
        "security": as_person(Role.SECURITY_OFFICER, "E400"),
        "auditor": as_person(Role.AUDITOR, None),
    }


def _ask(client: TestClient, **body: Any) -> Any:
    body.setdefault("justification", "needed for the quarterly close")
    return client.post("/api/v1/access-requests", json=body)


def _count(c: Container, table: Any) -> int:
    with c.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(table)) or 0)


def test_an_approved_request_is_granted_and_provisioned_through_the_queue(
    container: Container, org: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    end = TODAY + timedelta(days=30)
    created = _ask(
        org["e101"], employee_id="E101", item="ad:GG-Engineering", end_date=str(end)
    )
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["chain"] == ["department_head", "sysadmin"]  # internal (5.10)
    assert request["waiting_for"] == "department_head"
    rid = request["id"]
    assert org["sales_head"].post(f"/api/v1/access-requests/{rid}/approve").json()[
        "waiting_for"
    ] == ("sysadmin")
    drain(container)
    assert "GG-Engineering" not in fake_ad.find_account(employee_id="E101").groups
    done = org["sysadmin"].post(
        f"/api/v1/access-requests/{rid}/approve", json={"reason": "checked"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "approved"
    assert [d["decided_by_employee_id"] for d in done.json()["decisions"]] == [
        "E100",
        "E300",
    ]
    drain(container)
    assert "GG-Engineering" in fake_ad.find_account(employee_id="E101").groups
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E101")
        [grant] = [
            g
            for g in uow.grants.active_for_person(person.id)
            if g.source is GrantSource.REQUEST
        ]
        assert grant.source_ref == str(rid)
        # The last day is the 30th day ahead, local time; it ends at midnight.
        assert grant.expires_at.isoformat() == "2026-12-25T15:00:00+00:00"
        actions = [r.action for r in uow.audit.for_target(f"access_request:{rid}")]
    assert actions == [
        "access_request.created",
        "access_request.step_approved",
        "access_request.step_approved",
        "access_request.approved",
    ]


def test_a_strictly_confidential_item_also_needs_the_security_officer(
    org: dict[str, TestClient],
) -> None:
    response = _ask(
        org["e102"],
        employee_id="E102",
        item="ad:GG-Sales-Managers",
        end_date=str(TODAY + timedelta(days=90)),
    )
    assert response.status_code == 201, response.text
    assert response.json()["chain"] == [
        "department_head",
        "sysadmin",
        "security_officer",
    ]


def test_the_head_asking_for_a_member_is_the_departments_word_and_cannot_approve(
    container: Container, org: dict[str, TestClient], as_person: Person
) -> None:
    request = _ask(org["sales_head"], employee_id="E101", item="ad:GG-Engineering")
    assert request.status_code == 201, request.text
    body = request.json()
    assert body["waiting_for"] == "sysadmin"
    [applied] = (
        org["sales_head"]
        .get(f"/api/v1/access-requests/{body['id']}")
        .json()["decisions"]
    )
    assert applied["decision"] == "applied"
    # The head holding a sysadmin token too still cannot approve their request.
    head_as_admin = as_person(Role.SYSADMIN, "E100")
    refused = head_as_admin.post(f"/api/v1/access-requests/{body['id']}/approve")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "segregation_of_duties"
    assert "their own request" in refused.json()["error"]["message"]


def test_a_self_approval_is_refused_and_each_step_needs_another_person(
    container: Container, org: dict[str, TestClient]
) -> None:
    own = _ask(org["sysadmin"], employee_id="E300", item="ad:GG-Engineering").json()
    rid = own["id"]
    assert org["it_head"].post(f"/api/v1/access-requests/{rid}/approve").is_success
    self_approval = org["sysadmin"].post(f"/api/v1/access-requests/{rid}/approve")
    assert self_approval.status_code == 403
    assert self_approval.json()["error"]["code"] == "segregation_of_duties"
    assert "grants them rights" in self_approval.json()["error"]["message"]
    with container.uow() as uow:
        assert uow.access_requests.get(rid).step == 1  # nothing was written
    assert org["sysadmin2"].post(f"/api/v1/access-requests/{rid}/approve").is_success


def test_a_step_waits_for_its_role_and_its_department_head(
    org: dict[str, TestClient],
) -> None:
    rid = _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering").json()["id"]
    wrong_head = org["fin_head"].post(f"/api/v1/access-requests/{rid}/approve")
    assert wrong_head.status_code in (403, 404)  # not their department
    too_early = org["sysadmin"].post(f"/api/v1/access-requests/{rid}/approve")
    assert too_early.status_code == 403
    assert "head of department SALES (E100)" in too_early.json()["error"]["message"]
    no_role = org["auditor"].post(f"/api/v1/access-requests/{rid}/approve")
    assert no_role.status_code == 403


def test_an_sod_conflict_is_blocked_until_the_security_officer_records_an_exception(
    container: Container, org: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    ask = {
        "employee_id": "E201",
        "item": "ad:GG-Finance-Approvers",
        "end_date": str(TODAY + timedelta(days=60)),
    }
    blocked = _ask(org["e201"], **ask)
    assert blocked.status_code == 409
    error = blocked.json()["error"]
    assert error["code"] == "sod_conflict"
    assert "payment-entry-vs-approval" in error["message"]
    assert "whoever enters a payment must not approve it" in error["message"]
    assert _count(container, orm_access.access_requests) == 0
    exception = org["security"].post(
        "/api/v1/sod-exceptions",
        json={
            "employee_id": "E201",
            "rule_id": "payment-entry-vs-approval",
            "reason": "covering the manager's leave; payments are dual-signed",
            "end_date": str(TODAY + timedelta(days=60)),
        },
    )
    assert exception.status_code == 201, exception.text
    created = _ask(org["e201"], **ask)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    for approver in ("fin_head", "sysadmin", "security"):
        response = org[approver].post(f"/api/v1/access-requests/{rid}/approve")
        assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    drain(container)
    assert {"GG-Finance", "GG-Finance-Approvers"} <= set(
        fake_ad.find_account(employee_id="E201").groups
    )


def test_only_the_security_officer_records_exceptions_and_never_for_themselves(
    org: dict[str, TestClient], as_person: Person
) -> None:
    body = {
        "employee_id": "E400",
        "rule_id": "payment-entry-vs-approval",
        "reason": "test",
        "end_date": str(TODAY + timedelta(days=5)),
    }
    assert org["sysadmin"].post("/api/v1/sod-exceptions", json=body).status_code == 403
    own = org["security"].post("/api/v1/sod-exceptions", json=body)
    assert own.status_code == 403
    unknown = org["security"].post(
        "/api/v1/sod-exceptions", json=body | {"employee_id": "E201", "rule_id": "x"}
    )
    assert unknown.status_code == 422
    past = org["security"].post(
        "/api/v1/sod-exceptions",
        json=body | {"employee_id": "E201", "end_date": "2026-01-01"},
    )
    assert past.status_code == 422


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"item": "ad:GG-Nonexistent"}, 422, "item"),
        ({"item": "ad:Domain Admins"}, 422, "item"),  # elevation only (8.2)
        ({"end_date": "2026-11-24"}, 422, "end_date"),  # yesterday
        ({"justification": ""}, 422, "justification"),
        ({"justification": "   "}, 422, "justification"),
        ({"item": "ad:GG-Finance-Approvers", "employee_id": "E102"}, 422, "end_date"),
        ({"employee_id": "E999"}, 404, None),
        ({"colour": "blue"}, 422, "colour"),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_writes_nothing(
    container: Container,
    org: dict[str, TestClient],
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    audit_before = _count(container, orm.audit_records)
    body = {"employee_id": "E101", "item": "ad:GG-Engineering"} | change
    response = _ask(org["sales_head"], **body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert field in {d["field"] for d in error["details"]}
    assert _count(container, orm_access.access_requests) == 0
    assert _count(container, orm.audit_records) == audit_before


def test_too_long_an_end_date_names_the_limit(org: dict[str, TestClient]) -> None:
    response = _ask(
        org["e102"],
        employee_id="E102",
        item="ad:GG-Sales-Managers",
        end_date=str(TODAY + timedelta(days=400)),
    )
    assert response.status_code == 422
    assert "at most 365 days" in response.json()["error"]["message"]


def test_only_the_person_or_their_head_may_ask(org: dict[str, TestClient]) -> None:
    other = _ask(org["e102"], employee_id="E101", item="ad:GG-Engineering")
    assert other.status_code == 403
    other_head = _ask(org["fin_head"], employee_id="E101", item="ad:GG-Engineering")
    assert other_head.status_code == 403


def test_what_each_role_sees(org: dict[str, TestClient]) -> None:
    sales = _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering").json()
    fin = _ask(org["fin_head"], employee_id="E201", item="ad:GG-Engineering").json()

    def ids(client: TestClient, query: str = "") -> set[int]:
        response = client.get(f"/api/v1/access-requests{query}")
        assert response.status_code == 200, response.text
        return {r["id"] for r in response.json()["requests"]}

    assert ids(org["sales_head"]) == {sales["id"]}
    assert ids(org["fin_head"]) == {fin["id"]}
    assert ids(org["fin_head"], "?mine=true") == {fin["id"]}
    assert ids(org["e101"]) == {sales["id"]}
    assert ids(org["e102"]) == set()
    assert ids(org["auditor"]) == {sales["id"], fin["id"]}
    assert ids(org["auditor"], "?department=FIN") == {fin["id"]}
    assert ids(org["auditor"], "?status=approved") == set()
    hidden = org["sales_head"].get(f"/api/v1/access-requests/{fin['id']}")
    assert hidden.status_code == 404


def test_rejection_needs_a_reason_and_cancellation_is_the_requesters(
    container: Container, org: dict[str, TestClient]
) -> None:
    first = _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering").json()
    path = f"/api/v1/access-requests/{first['id']}"
    assert org["sales_head"].post(f"{path}/reject", json={}).status_code == 422
    rejected = org["sales_head"].post(f"{path}/reject", json={"reason": "not needed"})
    assert rejected.json()["status"] == "rejected"
    assert org["sysadmin"].post(f"{path}/approve").status_code == 409

    second = _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering").json()
    path = f"/api/v1/access-requests/{second['id']}"
    assert org["e102"].post(f"{path}/cancel").status_code == 404  # not theirs
    assert org["sales_head"].post(f"{path}/cancel").status_code == 403
    cancelled = org["e101"].post(f"{path}/cancel", json={"reason": "found another way"})
    assert cancelled.json()["status"] == "cancelled"
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E101")
        assert not [
            g
            for g in uow.grants.active_for_person(person.id)
            if g.source is GrantSource.REQUEST
        ]


def test_a_request_twice_or_for_what_is_held_is_a_conflict(
    org: dict[str, TestClient],
) -> None:
    held = _ask(org["e101"], employee_id="E101", item="ad:GG-Sales")
    assert held.status_code == 409
    assert "already holds" in held.json()["error"]["message"]
    assert _ask(org["e101"], employee_id="E101", item="role:x").status_code == 422
    assert _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering").is_success
    twin = _ask(org["e101"], employee_id="E101", item="ad:GG-Engineering")
    assert twin.status_code == 409
    assert "already pending" in twin.json()["error"]["message"]


def test_a_role_is_requested_as_its_entitlements(
    container: Container, org: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    request = _ask(org["e101"], employee_id="E101", kind="role", item="eng-lead")
    assert request.status_code == 201, request.text
    assert request.json()["entitlements"] == ["ad:GG-Eng-Leads"]
    rid = request.json()["id"]
    for approver in ("sales_head", "sysadmin"):
        assert org[approver].post(f"/api/v1/access-requests/{rid}/approve").is_success
    drain(container)
    assert "GG-Eng-Leads" in fake_ad.find_account(employee_id="E101").groups


def test_a_department_without_a_head_cannot_take_requests(
    container: Container, org: dict[str, TestClient], as_person: Person
) -> None:
    ga = as_person(None, "E400")
    response = _ask(ga, employee_id="E400", item="ad:GG-Engineering")
    assert response.status_code == 409
    assert "PUT /api/v1/departments/GA/head" in response.json()["error"]["message"]


def test_heads_are_set_by_hr_or_sysadmin_and_audited(
    container: Container, org: dict[str, TestClient], as_person: Person
) -> None:
    path = "/api/v1/departments/GA/head"
    assert org["auditor"].put(path, json={"employee_id": "E400"}).status_code == 403
    assert org["sysadmin"].put(path, json={"employee_id": "E999"}).status_code == 404
    assert (
        org["sysadmin"]
        .put("/api/v1/departments/NOPE/head", json={"employee_id": "E400"})
        .status_code
        == 404
    )
    response = org["sysadmin"].put(path, json={"employee_id": "E400"})
    assert response.json()["head_employee_id"] == "E400"
    listed = org["auditor"].get("/api/v1/departments").json()["departments"]
    assert {"code": "GA", "head_employee_id": "E400"}.items() <= next(
        d for d in listed if d["code"] == "GA"
    ).items()
    with container.uow() as uow:
        [record] = uow.audit.for_target("department:GA")
    assert record.after == {"head_employee_id": "E400"}


def test_the_last_approval_rechecks_sod(
    container: Container, org: dict[str, TestClient], clock: FrozenClock
) -> None:
    """An exception that lapses before the last approval blocks it (409)."""
    org["security"].post(
        "/api/v1/sod-exceptions",
        json={
            "employee_id": "E201",
            "rule_id": "payment-entry-vs-approval",
            "reason": "cover",
            "end_date": str(TODAY + timedelta(days=1)),
        },
    )
    rid = _ask(
        org["e201"],
        employee_id="E201",
        item="ad:GG-Finance-Approvers",
        end_date=str(TODAY + timedelta(days=30)),
    ).json()["id"]
    for approver in ("fin_head", "sysadmin"):
        assert org[approver].post(f"/api/v1/access-requests/{rid}/approve").is_success
    clock.advance(timedelta(days=3))
    last = org["security"].post(f"/api/v1/access-requests/{rid}/approve")
    assert last.status_code == 409
    assert last.json()["error"]["code"] == "sod_conflict"
    assert org["security"].get(f"/api/v1/access-requests/{rid}").json()[
        "waiting_for"
    ] == ("security_officer")


def test_a_grant_never_outlives_its_exception_and_ends_with_a_revocation(
    container: Container, org: dict[str, TestClient], fake_ad: FakeConnector
) -> None:
    recorded = org["security"].post(
        "/api/v1/sod-exceptions",
        json={
            "employee_id": "E201",
            "rule_id": "payment-entry-vs-approval",
            "reason": "month-end cover",
            "end_date": str(TODAY + timedelta(days=10)),
        },
    )
    rid = _ask(
        org["e201"],
        employee_id="E201",
        item="ad:GG-Finance-Approvers",
        end_date=str(TODAY + timedelta(days=60)),
    ).json()["id"]
    for approver in ("fin_head", "sysadmin", "security"):
        assert org[approver].post(f"/api/v1/access-requests/{rid}/approve").is_success
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E201")
        [grant] = [
            g
            for g in uow.grants.active_for_person(person.id)
            if g.source is GrantSource.REQUEST
        ]
    assert grant.expires_at.isoformat() == recorded.json()["expires_at"]
    drain(container)
    assert "GG-Finance-Approvers" in fake_ad.find_account(employee_id="E201").groups
    revoked = org["security"].post(
        f"/api/v1/sod-exceptions/{recorded.json()['id']}/revoke",
        json={"reason": "the manager is back"},
    )
    assert revoked.status_code == 200, revoked.text
    drain(container)
    assert "GG-Finance-Approvers" not in fake_ad.find_account(employee_id="E201").groups
    assert "GG-Finance" in fake_ad.find_account(employee_id="E201").groups
