"""Filters, paging, ETags and attribute selection on ``/scim/v2/Users``:
what scim2-tester does not check. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from tests.support.scim_inbound import ENT, assert_scim_error, counts, patch, scim_user

Api = Callable[[Role], TestClient]
USERS = "/scim/v2/Users"
PEOPLE = [  # employee number, family name, department, title, externalId
    ("E7001", "Yamada", "SALES", "Manager", "X-1"),
    ("E7002", "Yamamoto", "SALES", "Staff", "X-2"),
    ("E7003", "Sato", "ENG", "Lead Engineer", "x-3"),
    ("E7004", "Suzuki", "ENG", "Staff", None),
    ("E7005", "Tanaka", "FIN", "Manager", "X-5"),
]


@pytest.fixture
def scim(container: Container, api: Api) -> TestClient:
    client = api(Role.HR)
    for number, family, department, title, external in PEOPLE:
        extra = {"externalId": external} if external else {}
        body = scim_user(
            number, family=family, department=department, title=title, **extra
        )
        assert client.post(USERS, json=body).status_code == 201
    off = patch({"op": "replace", "path": "active", "value": False})
    assert client.patch(f"{USERS}/E7004", json=off).status_code == 200
    return client


def ids(client: TestClient, text: str, **params: object) -> list[str]:
    response = client.get(USERS, params={"filter": text, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    return [r["id"] for r in body["Resources"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "E7001@CORP.example.test"', ["E7001"]),
        ('userName ne "e7001@corp.example.test"', ["E7002", "E7003", "E7004", "E7005"]),
        ('externalId eq "X-2"', ["E7002"]),
        ('externalId eq "X-3"', []),  # caseExact
        ('emails.value eq "e7003@example.test"', ["E7003"]),
        ('emails[type eq "work" and value sw "e7005"]', ["E7005"]),
        ('name.familyName co "ama"', ["E7001", "E7002"]),
        ('name.familyName sw "s"', ["E7003", "E7004"]),
        ('name.familyName ew "TO"', ["E7003", "E7002"][::-1]),
        ("active eq false", ["E7004"]),
        ("active eq true", ["E7001", "E7002", "E7003", "E7005"]),
        (f'{ENT}:employeeNumber eq "E7003"', ["E7003"]),
        ('employeeNumber eq "E7003"', ["E7003"]),
        (f'{ENT}:department eq "eng"', ["E7003", "E7004"]),
        ('title gt "Manager"', ["E7002", "E7004"]),
        ('title ge "Manager"', ["E7001", "E7002", "E7004", "E7005"]),
        ('title lt "Manager"', ["E7003"]),
        ('title le "Lead Engineer"', ["E7003"]),
        ('department eq "SALES" and title eq "Manager"', ["E7001"]),
        ('department eq "FIN" or name.familyName eq "Sato"', ["E7003", "E7005"]),
        (
            'department eq "SALES" and (title eq "Staff" or externalId eq "X-1")',
            ["E7001", "E7002"],
        ),
        ('not (department eq "SALES") and active eq true', ["E7003", "E7005"]),
        ("externalId pr", ["E7001", "E7002", "E7003", "E7005"]),
        ("not (externalId pr)", ["E7004"]),
        (f"{ENT}:manager pr", []),
        (
            'meta.created ge "2026-11-25T00:30:00Z"',
            ["E7001", "E7002", "E7003", "E7004", "E7005"],
        ),
    ],
)
def test_filters(scim: TestClient, text: str, expected: list[str]) -> None:
    assert ids(scim, text) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        'userName eq "unterminated',
        "userName eq unquoted",
        'userName is "x"',
        'nickName eq "x"',
        'name.middleName eq "x"',
        "active gt false",
        'active eq "true"',
        'userName eq "a" and',
        '(userName eq "a"',
        "",
    ],
)
def test_invalid_filters_are_400_invalid_filter_and_write_nothing(
    container: Container, scim: TestClient, text: str
) -> None:
    before = counts(container)
    assert_scim_error(scim.get(USERS, params={"filter": text}), 400, "invalidFilter")
    search = scim.post(f"{USERS}/.search", json={"filter": text})
    assert_scim_error(search, 400, "invalidFilter")
    assert counts(container) == before


def test_paging_with_start_index_and_count(scim: TestClient) -> None:
    everyone = ["E7001", "E7002", "E7003", "E7004", "E7005"]
    seen: list[str] = []
    for start in (1, 3, 5):
        page = scim.get(USERS, params={"startIndex": start, "count": 2}).json()
        assert page["totalResults"] == 5 and page["startIndex"] == start
        assert page["itemsPerPage"] == len(page["Resources"])
        seen += [r["id"] for r in page["Resources"]]
    assert seen == everyone
    beyond = scim.get(USERS, params={"startIndex": 9, "count": 2}).json()
    assert beyond["totalResults"] == 5 and beyond["Resources"] == []
    none = scim.get(USERS, params={"count": 0}).json()
    assert none["totalResults"] == 5 and none["itemsPerPage"] == 0
    low = scim.get(USERS, params={"startIndex": 0, "count": -3}).json()
    assert low["startIndex"] == 1 and low["itemsPerPage"] == 0  # RFC 7644 §3.4.2.4
    filtered = scim.get(
        USERS, params={"filter": "active eq true", "startIndex": 2, "count": 2}
    ).json()
    assert filtered["totalResults"] == 4
    assert [r["id"] for r in filtered["Resources"]] == ["E7002", "E7003"]
    searched = scim.post("/scim/v2/.search", json={"startIndex": 4, "count": 10}).json()
    assert [r["id"] for r in searched["Resources"]] == ["E7004", "E7005"]
    assert_scim_error(scim.get(USERS, params={"count": "many"}), 400, "invalidValue")


def test_etags(container: Container, scim: TestClient) -> None:
    url = f"{USERS}/E7001"
    first = scim.get(url)
    etag = first.headers["etag"]
    assert etag == first.json()["meta"]["version"] and etag.startswith('W/"')
    assert scim.get(url, headers={"If-None-Match": etag}).status_code == 304
    title = patch({"op": "replace", "path": "title", "value": "Staff"})
    changed = scim.patch(url, json=title, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    new = changed.headers["etag"]
    assert new != etag and scim.get(url).headers["etag"] == new
    assert scim.get(url, headers={"If-None-Match": etag}).status_code == 200

    before = counts(container)
    back = patch({"op": "replace", "path": "title", "value": "Manager"})
    for method, body in (
        ("patch", back),
        ("put", scim_user("E7001")),
        ("delete", None),
    ):
        stale = scim.request(method, url, json=body, headers={"If-Match": etag})
        assert_scim_error(stale, 412, None)
    assert counts(container) == before
    assert scim.get(url).json()["title"] == "Staff"

    replaced = scim.put(
        url,
        json=scim_user("E7001", family="Yamada", title="Manager"),
        headers={"If-Match": new},
    )
    assert replaced.status_code == 200 and replaced.headers["etag"] != new
    assert scim.patch(url, json=back, headers={"If-Match": "*"}).status_code == 200
    latest = scim.get(url).headers["etag"]
    assert (
        scim.delete(url, headers={"If-Match": f'W/"nope", {latest}'}).status_code == 204
    )


def test_a_change_elsewhere_changes_the_version(
    container: Container, scim: TestClient
) -> None:
    etag = scim.get(f"{USERS}/E7002").headers["etag"]
    with container.uow() as uow:
        person = uow.persons.by_employee_id("E7002")
        assert person is not None
        person.title = "Manager"  # as an HR event through another channel would
        uow.commit()
    assert scim.get(f"{USERS}/E7002").headers["etag"] != etag


def test_attributes_and_excluded_attributes(scim: TestClient) -> None:
    one = scim.get(f"{USERS}/E7003", params={"attributes": "userName,name.familyName"})
    assert set(one.json()) == {"schemas", "id", "userName", "name"}
    assert one.json()["name"] == {"familyName": "Sato"}
    without = scim.get(
        f"{USERS}/E7003",
        params={"excludedAttributes": f"emails,groups,{ENT}:department"},
    ).json()
    assert "emails" not in without and "groups" not in without
    assert without[ENT] == {"employeeNumber": "E7003"}
    listed = scim.get(
        USERS,
        params={
            "filter": 'title eq "Staff" and active eq true',
            "attributes": f"{ENT}:department",
        },
    ).json()
    assert listed["Resources"] == [
        {
            "schemas": listed["Resources"][0]["schemas"],
            "id": "E7002",
            ENT: {"department": "SALES"},
        }
    ]
    searched = scim.post(
        f"{USERS}/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'externalId eq "X-5"',
            "excludedAttributes": ["meta", "name"],
        },
    ).json()
    [found] = searched["Resources"]
    assert found["id"] == "E7005" and "meta" not in found and "name" not in found
    written = scim.patch(
        f"{USERS}/E7005",
        params={"attributes": "title"},
        json=patch({"op": "replace", "path": "title", "value": "Staff"}),
    )
    assert set(written.json()) == {"schemas", "id", "title"}
    assert written.headers["etag"]


def test_discovery(scim: TestClient) -> None:
    config = scim.get("/scim/v2/ServiceProviderConfig").json()
    assert config["patch"]["supported"] and config["etag"]["supported"]
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert not config["bulk"]["supported"] and not config["sort"]["supported"]
    types = scim.get("/scim/v2/ResourceTypes").json()["Resources"]
    assert [t["id"] for t in types] == ["User"]
    assert types[0]["schemaExtensions"] == [{"schema": ENT, "required": True}]
    enterprise = scim.get(f"/scim/v2/Schemas/{ENT}").json()
    names = [a["name"] for a in enterprise["attributes"]]
    assert names == ["employeeNumber", "department", "manager"]
    assert_scim_error(scim.get("/scim/v2/Schemas/urn:example:nothing"), 404, None)
    assert_scim_error(scim.get("/scim/v2/ResourceTypes/Group"), 404, None)
    assert_scim_error(
        scim.get("/scim/v2/Schemas", params={"filter": "id pr"}), 403, None
    )


def test_two_writers_with_the_same_if_match_one_wins(
    container: Container, api: Api, scim: TestClient
) -> None:
    url = f"{USERS}/E7005"
    etag = scim.get(url).headers["etag"]
    clients = [api(Role.HR), api(Role.HR)]
    barrier = threading.Barrier(2)

    def write(client: TestClient, title: str) -> int:
        barrier.wait()
        body = patch({"op": "replace", "path": "title", "value": title})
        return client.patch(url, json=body, headers={"If-Match": etag}).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(write, clients, ["Director", "Clerk"]))
    assert codes == [200, 412]
    with container.uow() as uow:
        events = [e.type for e in uow.hr_events.for_employee("E7005")]
    assert events == ["hire", "update"]
