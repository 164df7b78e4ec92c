"""Joiners, movers and leavers through ``/scim/v2`` with the in-memory AD,
on SQLite and PostgreSQL; refused requests write nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from connectors.base import AccountState
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from tests.support.scim_inbound import (
    CORE,
    ENT,
    SCIM_JSON,
    assert_scim_error,
    counts,
    patch,
    scim_user,
)
from tests.support.service import drain

Api = Callable[[Role], TestClient]
USERS = "/scim/v2/Users"


def account(fake: FakeConnector, employee_id: str) -> AccountState:
    state = fake.find_account(employee_id=employee_id)
    assert state is not None, f"{employee_id} has no AD account"
    return state


def groups(fake: FakeConnector, employee_id: str) -> set[str]:
    return set(account(fake, employee_id).groups)


def test_joiner_mover_leaver_through_scim(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    scim, auditor = api(Role.HR), api(Role.AUDITOR)
    created = scim.post(USERS, json=scim_user("E5001", title="Manager"))
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    assert created.headers["location"].endswith("/scim/v2/Users/E5001")
    assert created.headers["etag"] == created.json()["meta"]["version"]
    drain(container)
    assert groups(fake_ad, "E5001") == {"GG-All-Staff", "GG-Sales", "GG-Sales-Managers"}
    joined = auditor.get("/api/v1/identities/E5001").json()
    assert (
        joined["accounts"][0]["state"] == "enabled" and joined["accounts"][0]["in_sync"]
    )
    assert {g["entitlement"] for g in joined["grants"]} == {
        "ad:GG-All-Staff",
        "ad:GG-Sales",
        "ad:GG-Sales-Managers",
    }
    user = scim.get(f"{USERS}/E5001").json()
    assert {(g["value"], g["display"]) for g in user["groups"]} == {
        ("ad:GG-All-Staff", "All staff"),
        ("ad:GG-Sales", "Sales team"),
        ("ad:GG-Sales-Managers", "Sales managers"),
    }

    moved = scim.patch(
        f"{USERS}/E5001",
        json=patch({"op": "replace", "path": f"{ENT}:department", "value": "ENG"}),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()[ENT]["department"] == "ENG"
    drain(container)
    assert groups(fake_ad, "E5001") == {
        "GG-All-Staff",
        "GG-Engineering",
        "GG-Eng-Leads",
    }
    moved_view = auditor.get("/api/v1/identities/E5001").json()
    assert moved_view["person"]["department"] == "ENG"
    assert {g["entitlement"] for g in moved_view["grants"]} == {
        "ad:GG-All-Staff",
        "ad:GG-Engineering",
        "ad:GG-Eng-Leads",
    }
    assert moved_view["pending_operations"] == []

    left = scim.patch(
        f"{USERS}/E5001",
        json=patch({"op": "replace", "path": "active", "value": False}),
    )
    assert left.status_code == 200 and left.json()["active"] is False
    drain(container)
    state = account(fake_ad, "E5001")
    assert state.enabled is False
    identity = auditor.get("/api/v1/identities/E5001").json()
    assert identity["person"]["status"] == "terminated"
    assert identity["person"]["department"] == "ENG"
    [ad] = identity["accounts"]
    assert ad["state"] == "disabled" and ad["in_sync"]
    assert identity["grants"] == []

    with container.uow() as uow:
        sources = {e.source for e in uow.hr_events.for_employee("E5001")}
        types = [e.type for e in uow.hr_events.for_employee("E5001")]
    assert sources == {"scim"} and types == ["hire", "update", "terminate"]


def test_delete_terminates_hides_the_user_and_a_new_post_rehires(
    container: Container, api: Api, fake_ad: FakeConnector
) -> None:
    scim = api(Role.HR)
    scim.post(USERS, json=scim_user("E5002"))
    drain(container)
    assert scim.delete(f"{USERS}/E5002").status_code == 204
    drain(container)
    assert_scim_error(scim.get(f"{USERS}/E5002"), 404, None)
    listed = scim.get(USERS, params={"filter": 'employeeNumber eq "E5002"'}).json()
    assert listed["totalResults"] == 0
    assert account(fake_ad, "E5002").enabled is False
    person = api(Role.AUDITOR).get("/api/v1/identities/E5002").json()["person"]
    assert person["status"] == "terminated"  # HR data stays
    assert scim.delete(f"{USERS}/E5002").status_code == 204  # a retry is harmless
    assert_scim_error(scim.patch(f"{USERS}/E5002", json=patch()), 404, None)

    back = scim.post(USERS, json=scim_user("E5002", title="Manager"))
    assert back.status_code == 201, back.text
    assert back.json()["active"] is True and back.json()["id"] == "E5002"
    drain(container)
    assert account(fake_ad, "E5002").enabled is True
    assert "GG-Sales-Managers" in groups(fake_ad, "E5002")


def test_active_true_again_rehires(container: Container, api: Api) -> None:
    scim = api(Role.HR)
    scim.post(USERS, json=scim_user("E5003"))
    off = {"op": "replace", "path": "active", "value": False}
    assert scim.patch(f"{USERS}/E5003", json=patch(off)).json()["active"] is False
    refused = scim.patch(
        f"{USERS}/E5003",
        json=patch({"op": "replace", "path": "title", "value": "Lead"}),
    )
    assert_scim_error(refused, 400, "mutability")  # a leaver changes only by rehire
    body = scim_user("E5003", department="FIN", active=True)
    rehired = scim.put(f"{USERS}/E5003", json=body)
    assert rehired.status_code == 200, rehired.text
    assert rehired.json()["active"] is True
    assert rehired.json()[ENT]["department"] == "FIN"
    with container.uow() as uow:
        assert [e.type for e in uow.hr_events.for_employee("E5003")] == [
            "hire",
            "terminate",
            "rehire",
        ]


def test_the_same_request_again_is_answered_without_writing(
    container: Container, api: Api
) -> None:
    scim = api(Role.HR)
    first = scim.post(USERS, json=scim_user("E5004"))
    before = counts(container)
    again = scim.post(USERS, json=scim_user("E5004"))
    assert again.status_code == 201 and again.json() == first.json()
    assert counts(container) == before
    op = patch({"op": "replace", "path": "title", "value": "Manager"})
    one = scim.patch(f"{USERS}/E5004", json=op)
    before = counts(container)
    two = scim.patch(f"{USERS}/E5004", json=op)
    assert two.status_code == 200 and two.json() == one.json()
    assert counts(container) == before


def test_each_write_is_one_hr_event_with_a_deterministic_id(
    container: Container, api: Api
) -> None:
    scim = api(Role.HR)
    scim.post(USERS, json=scim_user("E5005"))
    version = scim.get(f"{USERS}/E5005").json()["meta"]["version"]
    scim.patch(
        f"{USERS}/E5005",
        json=patch({"op": "replace", "path": "title", "value": "Lead"}),
    )
    with container.uow() as uow:
        ids = [e.event_id for e in uow.hr_events.for_employee("E5005")]
    assert ids[0].startswith("scim:post:E5005:new:")
    tag = version.removeprefix("W/").strip('"')
    assert ids[1].startswith(f"scim:patch:E5005:{tag}:")
    assert len(ids) == 2


def test_a_scim_write_and_an_hr_api_event_see_the_same_person(
    container: Container, api: Api
) -> None:
    hr, scim = api(Role.HR), api(Role.HR)
    hr.post(
        "/api/v1/hr/events",
        json={
            "event_id": "h1",
            "type": "hire",
            "employee": {
                "employee_id": "E5006",
                "given_name": "Jiro",
                "family_name": "Test",
                "email": "e5006@example.test",
                "department": "HR",
                "title": "Staff",
            },
        },
    )
    found = scim.get(USERS, params={"filter": 'userName eq "E5006@example.test"'})
    [user] = found.json()["Resources"]
    assert user["id"] == "E5006" and user["userName"] == "e5006@example.test"
    etag = user["meta"]["version"]
    hr.post(
        "/api/v1/hr/events",
        json={
            "event_id": "h2",
            "type": "update",
            "employee": {"employee_id": "E5006", "title": "Lead"},
        },
    )
    after = scim.get(f"{USERS}/E5006")
    assert after.json()["title"] == "Lead" and after.headers["etag"] != etag


def test_unauthenticated_and_wrong_role_get_scim_errors(api: Api) -> None:
    anonymous = TestClient(api(Role.HR).app)
    assert_scim_error(anonymous.get(USERS), 401, None)
    assert_scim_error(api(Role.AUDITOR).get(USERS), 403, None)
    assert_scim_error(
        anonymous.post(
            USERS, json=scim_user("E5007"), headers={"Authorization": "Bearer nope"}
        ),
        401,
        None,
    )


BAD_WRITES = {
    "unknown attribute in the body": (
        "post",
        USERS,
        {**scim_user("E6001"), "nickName": "x"},
        400,
        "invalidSyntax",
    ),
    "unknown extension attribute": (
        "post",
        USERS,
        {**scim_user("E6001"), ENT: {"employeeNumber": "E6001", "costCenter": "9"}},
        400,
        "invalidSyntax",
    ),
    "invalid e-mail": (
        "post",
        USERS,
        scim_user("E6001", email="not-an-address"),
        400,
        "invalidValue",
    ),
    "missing employeeNumber": (
        "post",
        USERS,
        {**scim_user("E6001"), ENT: {"department": "SALES"}},
        400,
        "invalidValue",
    ),
    "no core schema": (
        "post",
        USERS,
        {**scim_user("E6001"), "schemas": [ENT]},
        400,
        "invalidSyntax",
    ),
    "duplicate userName in any case": (
        "post",
        USERS,
        scim_user("E6001", user_name="E6000@CORP.example.test"),
        409,
        "uniqueness",
    ),
    "duplicate employeeNumber": (
        "post",
        USERS,
        scim_user("E6000", user_name="other"),
        409,
        "uniqueness",
    ),
    "duplicate e-mail": (
        "post",
        USERS,
        scim_user("E6001", email="e6000@example.test"),
        409,
        "uniqueness",
    ),
    "created inactive": (
        "post",
        USERS,
        scim_user("E6001", active=False),
        400,
        "invalidValue",
    ),
    "unknown attribute in a PATCH path": (
        "patch",
        f"{USERS}/E6000",
        patch({"op": "replace", "path": "nickName", "value": "x"}),
        400,
        "invalidPath",
    ),
    "unknown attribute in a PATCH value": (
        "patch",
        f"{USERS}/E6000",
        patch({"op": "replace", "value": {"nickName": "x"}}),
        400,
        "invalidSyntax",
    ),
    "PATCH filter matching nothing": (
        "patch",
        f"{USERS}/E6000",
        patch({"op": "remove", "path": 'emails[type eq "home"]'}),
        400,
        "noTarget",
    ),
    "changing the employeeNumber": (
        "put",
        f"{USERS}/E6000",
        scim_user(
            "E6999", user_name="e6000@corp.example.test", email="e6000@example.test"
        ),
        400,
        "mutability",
    ),
    "removing the manager": (
        "patch",
        f"{USERS}/E6000",
        patch({"op": "remove", "path": f"{ENT}:manager"}),
        400,
        "mutability",
    ),
    "PUT without required attributes": (
        "put",
        f"{USERS}/E6000",
        {"schemas": [CORE], "userName": "x"},
        400,
        "invalidValue",
    ),
    "unknown id": (
        "patch",
        f"{USERS}/E6404",
        patch({"op": "remove", "path": "externalId"}),
        404,
        None,
    ),
    "unknown path": ("get", "/scim/v2/Groups", None, 404, None),
    "method not allowed": ("delete", "/scim/v2/Schemas", None, 405, None),
}


@pytest.mark.parametrize("case", list(BAD_WRITES), ids=list(BAD_WRITES))
def test_bad_input_is_refused_in_the_scim_format_and_writes_nothing(
    container: Container, api: Api, case: str
) -> None:
    scim = api(Role.HR)
    scim.post(USERS, json=scim_user("E6000", manager="E0001"))
    method, url, body, status, scim_type = BAD_WRITES[case]
    before = counts(container)
    response = scim.request(method, url, json=body)
    assert_scim_error(response, status, scim_type)
    assert counts(container) == before


@pytest.mark.parametrize(
    ("method", "url"),
    [("post", USERS), ("put", f"{USERS}/E6000"), ("patch", f"{USERS}/E6000")],
)
def test_malformed_json_is_invalid_syntax_and_writes_nothing(
    container: Container, api: Api, method: str, url: str
) -> None:
    scim = api(Role.HR)
    scim.post(USERS, json=scim_user("E6000"))
    before = counts(container)
    response = scim.request(
        method, url, content=b'{"schemas": [', headers={"Content-Type": SCIM_JSON}
    )
    assert_scim_error(response, 400, "invalidSyntax")
    assert counts(container) == before
