"""Deciding access reviews (5.18) over the API, on SQLite and PostgreSQL:
keep, revoke with a comment, bulk keep, sign off; the revocation goes
through the queue and the item shows the verified removal; nobody decides
their own access; delegation is on record; another department's review is
refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from iam_service.domain.security import Role
from tests.support.access import Person
from tests.support.reviews import ReviewOrg
from tests.support.service import drain

pytestmark = pytest.mark.slow


@pytest.fixture
def as_head(as_person: Person) -> Callable[[str], TestClient]:
    return lambda employee_id: as_person(Role.DEPARTMENT_HEAD, employee_id)


def _items(client: TestClient, review: int, **query: object) -> list[dict]:  # type: ignore[type-arg]
    answer = client.get(f"/api/v1/reviews/{review}/items", params=query)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def _find(items: list[dict], employee_id: str, ref: str) -> dict:  # type: ignore[type-arg]
    return next(
        i
        for i in items
        if i["employee_id"] == employee_id and i["entitlement"]["ref"] == ref
    )


def test_a_head_keeps_revokes_bulk_keeps_signs_off_and_the_group_goes(
    review_org: ReviewOrg, as_head: Callable[[str], TestClient]
) -> None:
    campaign = review_org.start()
    review = review_org.review_of(campaign, "S100").id
    head = as_head("S100")
    listed = head.get("/api/v1/reviews").json()["reviews"]
    assert review in [r["id"] for r in listed]
    items = _items(head, review, status="all", per_page=200)
    assert items[0]["recommendations"], "flagged items come first"
    leftover = _find(items, "S104", "ad:GG-Engineering")
    idle = _find(items, "S103", "ad:GG-Sales")

    no_reason = head.post(
        f"/api/v1/reviews/{review}/decisions",
        json={"item_ids": [leftover["id"]], "decision": "revoke"},
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["details"][0]["field"] == "comment"
    revoked = head.post(
        f"/api/v1/reviews/{review}/decisions",
        json={
            "item_ids": [leftover["id"]],
            "decision": "revoke",
            "comment": "left FIN; not needed in SALES",
        },
    )
    assert revoked.json() == {"decided": 1}
    kept = head.post(
        f"/api/v1/reviews/{review}/decisions",
        json={"item_ids": [idle["id"]], "decision": "keep", "comment": "on leave"},
    )
    assert kept.status_code == 200
    early = head.post(f"/api/v1/reviews/{review}/sign-off")
    assert (
        early.status_code == 409 and "not decided" in early.json()["error"]["message"]
    )

    bulk = head.post(f"/api/v1/reviews/{review}/bulk-keep").json()["kept"]
    still_open = _items(head, review, status="open")
    assert bulk > 0 and all(i["recommendations"] for i in still_open)
    head.post(
        f"/api/v1/reviews/{review}/decisions",
        json={"item_ids": [i["id"] for i in still_open], "decision": "keep"},
    )
    progress = head.get(f"/api/v1/reviews/{review}").json()["progress"]
    assert progress["open"] == 0 and progress["percent"] == 100
    assert progress["revoked"] == 1

    signed = head.post(f"/api/v1/reviews/{review}/sign-off").json()
    assert signed["status"] == "signed_off" and signed["queued"] == 1
    drain(review_org.container)
    assert review_org.fake_ad is not None
    state = review_org.fake_ad.find_account(employee_id="S104")
    assert state is not None and "GG-Engineering" not in state.groups
    shown = _find(_items(head, review, status="revoke"), "S104", "ad:GG-Engineering")
    assert shown["comment"] == "left FIN; not needed in SALES"
    assert shown["outcome"]["state"] == "queued"
    assert shown["outcome"]["operation"]["status"] == "succeeded"
    assert shown["outcome"]["operation"]["verified_at"]
    late = head.post(
        f"/api/v1/reviews/{review}/decisions",
        json={"item_ids": [idle["id"]], "decision": "revoke", "comment": "x"},
    )
    assert late.status_code == 409


def test_a_head_cannot_open_or_decide_another_departments_review(
    review_org: ReviewOrg, as_head: Callable[[str], TestClient], as_person: Person
) -> None:
    campaign = review_org.start()
    sales = review_org.review_of(campaign, "S100").id
    fin_head = as_head("F200")
    for path in ("", "/items"):
        answer = fin_head.get(f"/api/v1/reviews/{sales}{path}")
        assert answer.status_code == 403, answer.text
    for path, body in (
        ("/decisions", {"item_ids": [1], "decision": "keep"}),
        ("/bulk-keep", None),
        ("/sign-off", None),
        ("/delegate", {"employee_id": "F201", "reason": "x"}),
    ):
        assert (
            fin_head.post(f"/api/v1/reviews/{sales}{path}", json=body).status_code
            == 403
        )
    assert sales not in [
        r["id"] for r in fin_head.get("/api/v1/reviews").json()["reviews"]
    ]
    assert fin_head.get(f"/api/v1/review-campaigns/{campaign}").status_code == 403
    assert (
        fin_head.get(f"/api/v1/review-campaigns/{campaign}/report.pdf").status_code
        == 403
    )
    auditor = as_person(Role.AUDITOR, None)
    assert auditor.get(f"/api/v1/reviews/{sales}/items").status_code == 200
    assert auditor.post(f"/api/v1/reviews/{sales}/bulk-keep").status_code == 403, (
        "the auditor reads, never decides (5.35)"
    )


def test_nobody_decides_their_own_access(
    review_org: ReviewOrg, as_head: Callable[[str], TestClient], as_person: Person
) -> None:
    campaign = review_org.start()
    officer_review = review_org.review_of(campaign, None).id
    privileged = _items(as_person(Role.SECURITY_OFFICER, "X900"), officer_review)[0]
    assert privileged["employee_id"] == "I400"
    # I400 is also a security officer: their own item is refused to them.
    themselves = as_person(Role.SECURITY_OFFICER, "I400")
    answer = themselves.post(
        f"/api/v1/reviews/{officer_review}/decisions",
        json={"item_ids": [privileged["id"]], "decision": "keep"},
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "segregation_of_duties"
    heads_own = review_org.review_of(campaign, "G300", "SALES")
    assert as_head("S100").get(f"/api/v1/reviews/{heads_own.id}").status_code == 403


def test_a_head_delegates_on_record_and_the_delegate_decides(
    review_org: ReviewOrg, as_head: Callable[[str], TestClient], as_person: Person
) -> None:
    campaign = review_org.start()
    review = review_org.review_of(campaign, "S100").id
    handed = as_head("S100").post(
        f"/api/v1/reviews/{review}/delegate",
        json={"employee_id": "S101", "reason": "on a business trip until the due date"},
    )
    assert handed.status_code == 200, handed.text
    delegate_review = handed.json()["review"]
    delegate = as_person(None, "S101")  # a plain employee, no role
    theirs = _items(delegate, delegate_review, per_page=200)
    assert theirs and all(i["employee_id"] != "S101" for i in theirs)
    left = _items(as_head("S100"), review, per_page=200)
    assert {i["employee_id"] for i in left} == {"S101"}  # their own stay behind
    assert (
        delegate.post(f"/api/v1/reviews/{delegate_review}/bulk-keep").status_code == 200
    )
    officer = as_person(Role.SECURITY_OFFICER, "X900")
    record = officer.get(f"/api/v1/review-campaigns/{campaign}").json()["delegations"]
    assert record == [
        {
            "from_review": review,
            "to_review": delegate_review,
            "from_employee_id": "S100",
            "to_employee_id": "S101",
            "by": record[0]["by"],
            "at": record[0]["at"],
            "reason": "on a business trip until the due date",
            "items_moved": len(theirs),
        }
    ]
    assert record[0]["by"].endswith("S100")


def test_a_security_officer_starts_a_campaign_by_hand_and_others_cannot(
    review_org: ReviewOrg, as_head: Callable[[str], TestClient], as_person: Person
) -> None:
    refused = as_head("S100").post(
        "/api/v1/review-campaigns", json={"definition": "privileged"}
    )
    assert refused.status_code == 403
    started = as_person(Role.SECURITY_OFFICER, "X900").post(
        "/api/v1/review-campaigns", json={"definition": "privileged"}
    )
    assert started.status_code == 201, started.text
    body = started.json()
    assert body["definition"] == "privileged"
    assert body["scope"]["classifications"] == ["strictly_confidential"]
    assert body["progress"]["total"] == body["items_total"] > 0
    unknown = as_person(Role.SECURITY_OFFICER, "X900").post(
        "/api/v1/review-campaigns", json={"definition": "nope"}
    )
    assert unknown.status_code == 404
