"""PATCH operations on a User document, and reading documents into state."""

from __future__ import annotations

from typing import Any

import pytest

from iam_service.domain.scim_input import (
    ScimInputError,
    parse_resource,
    replaced_state,
    state_from_document,
)
from iam_service.domain.scim_patch import apply_patch
from iam_service.domain.scim_user import UserState, document_of

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BASE = UserState(
    employee_number="E1001",
    user_name="hanako",
    given_name="Hanako",
    family_name="Yamada",
    email="hanako@example.test",
    email_type="work",
    title="Staff",
    department="SALES",
    manager="E0001",
)


def patched(*ops: dict[str, Any]) -> UserState:
    doc = apply_patch(document_of(BASE), {"schemas": [PATCH], "Operations": list(ops)})
    return state_from_document(doc, BASE.email)


def refused(scim_type: str, *ops: dict[str, Any]) -> str:
    with pytest.raises(ScimInputError) as caught:
        patched(*ops)
    assert caught.value.scim_type == scim_type, caught.value.detail
    return caught.value.detail


def test_replace_simple_complex_and_extension_attributes() -> None:
    after = patched(
        {"op": "replace", "path": "title", "value": "Manager"},
        {"op": "Replace", "path": "name.familyName", "value": "Sato"},
        {"op": "replace", "path": f"{ENT}:department", "value": "ENG"},
        {"op": "replace", "path": f"{ENT}:manager", "value": {"value": "E0002"}},
    )
    assert (after.title, after.family_name, after.department, after.manager) == (
        "Manager",
        "Sato",
        "ENG",
        "E0002",
    )
    assert after.given_name == "Hanako"  # a complex replace keeps other parts


def test_pathless_values_take_attribute_paths_and_schema_objects() -> None:
    after = patched(
        {
            "op": "replace",
            "value": {
                "active": "False",  # Entra ID's string booleans
                "name.givenName": "Hana",
                f"{ENT}:department": "FIN",
                ENT: {"manager": {"value": "E0003"}},
                "externalId": "HR-1",
            },
        }
    )
    assert after.active is False
    assert (after.given_name, after.department, after.manager) == (
        "Hana",
        "FIN",
        "E0003",
    )
    assert after.external_id == "HR-1"


def test_a_bare_manager_id_is_read_as_its_value() -> None:
    path = f"{ENT}:manager"
    assert patched({"op": "Add", "path": path, "value": "E0009"}).manager == "E0009"


def test_the_extension_urn_as_path() -> None:
    after = patched({"op": "add", "path": ENT, "value": {"department": "HR"}})
    assert after.department == "HR" and after.employee_number == "E1001"


def test_email_through_a_filter_and_the_address_the_client_asserted_wins() -> None:
    after = patched(
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "h@example.test",
        }
    )
    assert after.email == "h@example.test"
    added = patched(
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "home@example.test", "type": "home"}],
        }
    )
    assert added.email == BASE.email  # a second, home address does not replace it


def test_an_eq_filter_matching_nothing_creates_the_element() -> None:
    only_home = UserState(**{**BASE.__dict__, "email_type": "home"})
    doc = apply_patch(
        document_of(only_home),
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "add",
                    "path": 'emails[type eq "work"].value',
                    "value": "w@example.test",
                }
            ],
        },
    )
    assert {"type": "work", "value": "w@example.test"} in doc["emails"]
    assert state_from_document(doc, only_home.email).email == "w@example.test"


def test_remove() -> None:
    assert patched({"op": "remove", "path": "externalId"}).external_id is None
    detail = refused("invalidValue", {"op": "remove", "path": "title"})
    assert "title is required" in detail
    refused("noTarget", {"op": "remove", "path": 'emails[type eq "home"]'})
    refused("noTarget", {"op": "remove"})
    gone = apply_patch(
        document_of(BASE),
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": 'emails[type eq "work"]'}],
        },
    )
    assert gone["emails"] == []


@pytest.mark.parametrize(
    ("scim_type", "op"),
    [
        ("invalidPath", {"op": "replace", "path": "nickName", "value": "x"}),
        ("invalidPath", {"op": "replace", "path": "name.middleName", "value": "x"}),
        (
            "invalidPath",
            {"op": "replace", "path": 'emails[shoe eq "x"].value', "value": "x"},
        ),
        ("invalidPath", {"op": "replace", "path": "emails[type eq ", "value": "x"}),
        ("invalidPath", {"op": "replace", "path": 5, "value": "x"}),
        ("invalidSyntax", {"op": "replace", "value": {"nickName": "x"}}),
        ("invalidSyntax", {"op": "replace", "path": "name", "value": {"middle": "x"}}),
        ("invalidSyntax", {"op": "move", "path": "title", "value": "x"}),
        ("mutability", {"op": "replace", "path": "id", "value": "E9"}),
        ("mutability", {"op": "replace", "path": "groups", "value": []}),
        ("invalidValue", {"op": "replace", "path": "active", "value": "maybe"}),
        ("invalidValue", {"op": "replace", "path": "title", "value": 5}),
        ("invalidValue", {"op": "replace", "path": "title"}),
        (
            "invalidValue",
            {"op": "replace", "path": "emails", "value": [{"value": "nope"}]},
        ),
        (
            "invalidValue",
            {"op": "replace", "path": f"{ENT}:manager.value", "value": "E1001"},
        ),
    ],
)
def test_bad_operations(scim_type: str, op: dict[str, Any]) -> None:
    refused(scim_type, op)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Operations": []},
        {"schemas": [PATCH]},
        {"schemas": [PATCH], "Operations": []},
        {"schemas": [PATCH], "Operations": ["replace"]},
    ],
)
def test_malformed_patch_bodies(body: Any) -> None:
    with pytest.raises(ScimInputError) as caught:
        apply_patch(document_of(BASE), body)
    assert caught.value.scim_type == "invalidSyntax"


def test_resources_refuse_unknown_attributes_and_ignore_read_only_ones() -> None:
    body = {
        "schemas": [CORE, ENT],
        "id": "ignored",
        "displayName": "ignored",
        "meta": {"version": 'W/"x"'},
        "userName": "taro",
        "name": {"givenName": "Taro", "familyName": "Suzuki"},
        "emails": [{"value": "Taro@Example.test", "primary": True}],
        "title": "Staff",
        ENT: {"employeeNumber": "E2", "department": "ENG"},
    }
    state = state_from_document(parse_resource(body))
    assert state.email == "taro@example.test" and state.employee_number == "E2"
    for bad in ({**body, "nickName": "x"}, {**body, ENT: {"costCenter": "1"}}):
        with pytest.raises(ScimInputError) as caught:
            parse_resource(bad)
        assert caught.value.scim_type == "invalidSyntax"
    with pytest.raises(ScimInputError) as caught:
        parse_resource({**body, "schemas": [ENT]})
    assert caught.value.scim_type == "invalidSyntax"


def test_a_put_keeps_what_it_does_not_assert_and_needs_the_required_parts() -> None:
    body = {
        "schemas": [CORE, ENT],
        "userName": "hanako2",
        "name": {"givenName": "Hanako", "familyName": "Sato"},
        "emails": [{"value": "hanako@example.test"}],
        "title": "Lead",
        ENT: {"employeeNumber": "E1001", "department": "ENG"},
    }
    after = replaced_state(
        BASE.__class__(**{**BASE.__dict__, "external_id": "X"}), body
    )
    assert (after.user_name, after.family_name, after.title) == (
        "hanako2",
        "Sato",
        "Lead",
    )
    assert after.manager == "E0001" and after.external_id == "X" and after.active
    with pytest.raises(ScimInputError) as caught:
        replaced_state(BASE, {**body, ENT: {"employeeNumber": "E1001"}})
    assert caught.value.scim_type == "invalidValue"
    assert "department" in caught.value.detail
