"""Filters bound to the User schema and evaluated on rendered Users."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.scim_filter import parse_filter
from iam_service.domain.scim_match import FilterError, bind, matches
from iam_service.domain.scim_user import ScimUserRecord, project, render

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE = "https://iam.example.test/scim/v2"


def user(**overrides: Any) -> dict[str, Any]:
    person = Person(
        employee_id=overrides.pop("employee_id", "E1001"),
        given_name="Hanako",
        family_name=overrides.pop("family_name", "Yamada"),
        email="hanako.yamada@example.test",
        department_code="SALES",
        title="Manager",
        manager_employee_id="E0001",
        status=overrides.pop("status", PersonStatus.ACTIVE),
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        updated_at=datetime(2026, 5, 1, tzinfo=UTC),
        id=1,
    )
    record = ScimUserRecord(1, "Hanako.Yamada", "hanako.yamada", "HR-77", "work")
    groups = [("ad:GG-Sales", "Sales team")]
    return render(person, record, groups, BASE)


def hits(text: str, resource: dict[str, Any] | None = None) -> bool:
    return matches(bind(parse_filter(text)), resource or user())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "hanako.yamada"', True),  # userName is not caseExact
        ('userName ne "hanako.yamada"', False),
        ('externalId eq "HR-77"', True),
        ('externalId eq "hr-77"', False),  # externalId is caseExact
        ('name.familyName co "mad"', True),
        ('name.familyName sw "ya"', True),
        ('name.familyName sw "ma"', False),
        ('name.givenName ew "KO"', True),
        ('title gt "Director"', True),
        ('title lt "Director"', False),
        ('title ge "Manager"', True),
        ('title le "Manager"', True),
        ('emails.value eq "HANAKO.YAMADA@example.test"', True),
        ('emails co "@example.test"', True),  # multi-valued: compares .value
        ('emails[type eq "work" and value sw "hanako"]', True),
        ('emails[type eq "home"]', False),
        ("active eq true", True),
        ("active eq false", False),
        ("active ne false", True),
        (f'{ENT}:employeeNumber eq "E1001"', True),
        (f'{ENT}:employeeNumber eq "e1001"', False),  # caseExact
        (f'{ENT}:department eq "sales"', True),
        (f'{ENT}:manager.value eq "E0001"', True),
        ('groups.value eq "ad:GG-Sales"', True),
        ('id eq "E1001"', True),
        ('meta.lastModified gt "2026-04-15T00:00:00Z"', True),
        ('meta.created ge "2026-04-01T09:00:00+09:00"', True),
        ("title pr", True),
        ("externalId pr", True),
        ("nickName pr", None),  # unknown: refused below
        ('userName eq "x" or title eq "Manager"', True),
        ('userName eq "x" and title eq "Manager"', False),
        ('not (active eq false) and (title sw "Man" or title sw "Dir")', True),
        ("externalId eq null", False),
    ],
)
def test_evaluation(text: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(FilterError):
            bind(parse_filter(text))
        return
    assert hits(text) is expected


def test_absent_attributes_match_nothing_but_ne_and_eq_null() -> None:
    resource = user()
    del resource["externalId"]
    assert not hits('externalId eq "HR-77"', resource)
    assert hits('externalId ne "HR-77"', resource)
    assert hits("externalId eq null", resource)
    assert not hits("externalId pr", resource)


def test_a_leaver_is_inactive() -> None:
    assert hits("active eq false", user(status=PersonStatus.TERMINATED))


@pytest.mark.parametrize(
    "text",
    [
        'nickName eq "x"',
        'name.middleName eq "x"',
        'urn:example:ext:1.0:User:shoeSize eq "x"',
        "active gt true",
        'active eq "true"',
        "title eq 5",
        'name eq "Hanako"',
        'emails[nickName eq "x"]',
        'title[value eq "x"]',
        'meta.lastModified co "2026"',
        'meta.created gt "yesterday"',
        "title co null",
    ],
)
def test_filters_the_service_cannot_answer_are_refused(text: str) -> None:
    with pytest.raises(FilterError):
        bind(parse_filter(text))


def test_attributes_and_excluded_attributes() -> None:
    resource = user()
    only = project(resource, ["userName", "name.familyName", f"{ENT}:department"])
    assert only == {
        "schemas": resource["schemas"],
        "id": "E1001",
        "userName": "Hanako.Yamada",
        "name": {"familyName": "Yamada"},
        ENT: {"department": "SALES"},
    }
    assert project(resource, ["emails.value"])["emails"] == [
        {"value": "hanako.yamada@example.test"}
    ]
    without = project(resource, excluded=["emails", "name.givenName", "id", ENT])
    assert "emails" not in without and ENT not in without
    assert without["name"] == {"familyName": "Yamada"}
    assert without["id"] == "E1001"  # returned "always"
    assert project(resource, ["nickName"]) == {
        "schemas": resource["schemas"],
        "id": "E1001",
    }


def test_version_follows_content_not_the_base_url() -> None:
    first = user()
    assert first["meta"]["version"].startswith('W/"')
    assert render_elsewhere()["meta"]["version"] == first["meta"]["version"]
    assert user(family_name="Sato")["meta"]["version"] != first["meta"]["version"]
    assert (
        user(status=PersonStatus.TERMINATED)["meta"]["version"]
        != (first["meta"]["version"])
    )


def render_elsewhere() -> dict[str, Any]:
    resource = user()
    person = Person(
        employee_id="E1001",
        given_name="Hanako",
        family_name="Yamada",
        email="hanako.yamada@example.test",
        department_code="SALES",
        title="Manager",
        manager_employee_id="E0001",
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        updated_at=datetime(2026, 5, 1, tzinfo=UTC),
        id=1,
    )
    record = ScimUserRecord(1, "Hanako.Yamada", "hanako.yamada", "HR-77", "work")
    other = render(person, record, [("ad:GG-Sales", "Sales team")], "http://other")
    assert other["meta"]["location"] != resource["meta"]["location"]
    return other
