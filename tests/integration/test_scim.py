"""The SCIM connector against the independent scim2-server over HTTP.

What the connector wrote is checked with direct requests to the server
(``scim_server.get``), not through the connector. Vendor deviations, ETags,
errors and outages are in test_scim_vendors.py. People are dummies (8.33).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from connectors.base import (
    AccountRef,
    AccountSpec,
    Capability,
    NotFound,
    NotSupported,
    PermanentError,
    PolicyRefused,
    Secret,
)
from connectors.scim import ScimConnector, ScimSettings
from connectors.scim_discovery import ENTERPRISE_USER
from iam_service.adapters.connector_config import (
    ConnectorConfigError,
    SystemEntry,
    build_connector,
)
from tests.support.scim_server import ScimTenant, plain_session

STRONG = "Correct-Horse-42"


def spec(username: str, employee_id: str, **changes: object) -> AccountSpec:
    base = AccountSpec(
        username=username,
        employee_id=employee_id,
        given_name="Hanako",
        family_name="Sato",
        email=f"{username}@mail.example.test",
        department="Sales",
        title="Associate",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def create(connector: ScimConnector, username: str, employee_id: str) -> AccountRef:
    return connector.create_account(spec(username, employee_id), Secret(STRONG))


def test_discovery_reads_what_the_provider_offers(
    scim_connector: ScimConnector,
) -> None:
    found = scim_connector.discover()

    assert found.patch and found.filter and found.etag and found.bulk
    assert found.change_password and found.enterprise_user and found.groups
    assert found.max_results == 1000
    assert found.users_endpoint == "/Users" and found.groups_endpoint == "/Groups"
    assert found.roles and found.entitlements
    assert scim_connector.capabilities == {
        Capability.GROUPS,
        Capability.PASSWORD,
        Capability.DELETE,
    }


def test_a_deactivate_only_system_offers_no_delete(
    scim_settings: ScimSettings,
) -> None:
    settings = dataclasses.replace(scim_settings, delete_accounts=False)
    connector = ScimConnector(settings, plain_session())
    ref = create(connector, "keeper", "E-keep")

    assert Capability.DELETE not in connector.capabilities
    with pytest.raises(NotSupported):
        connector.delete_account(ref)
    assert connector.get_account(ref).enabled
    connector.close()


def test_the_user_and_its_enterprise_extension_are_written_and_read_back(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    boss = create(scim_connector, "boss", "E-boss")
    wanted = spec("hsato", "E-1001", manager_native_id=boss.native_id)
    ref = scim_connector.create_account(wanted, Secret(STRONG))

    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None
    assert stored["userName"] == "hsato@example.test"
    assert stored["externalId"] == "E-1001"
    assert stored["name"] == {"givenName": "Hanako", "familyName": "Sato"}
    assert stored["displayName"] == "Hanako Sato"
    assert stored["emails"] == [
        {"value": "hsato@mail.example.test", "type": "work", "primary": True}
    ]
    assert stored["title"] == "Associate" and stored["active"] is True
    assert stored[ENTERPRISE_USER] == {
        "employeeNumber": "E-1001",
        "department": "Sales",
        "manager": {"value": boss.native_id},
    }
    assert "password" not in stored  # write-only, never returned
    state = scim_connector.get_account(ref)
    assert state.ref == AccountRef(ref.native_id, "hsato")
    assert state.employee_id == "E-1001"
    assert dict(state.attributes) == wanted.attributes()


def test_updates_patch_only_what_changed(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    ref = create(scim_connector, "mover", "E-move")

    scim_connector.update_account(
        ref, {"department": "Finance", "title": None, "email": "m@example.test"}
    )

    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None
    assert stored[ENTERPRISE_USER]["department"] == "Finance"
    assert "title" not in stored
    assert stored["emails"][0]["value"] == "m@example.test"
    assert stored["name"]["familyName"] == "Sato"  # untouched


def test_deprovisioning_is_patch_active_false_read_back_directly(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    ref = create(scim_connector, "leaver", "E-leave")

    scim_connector.set_enabled(ref, False)
    scim_connector.set_enabled(ref, False)

    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None and stored["active"] is False
    assert not scim_connector.get_account(ref).enabled


def test_delete_then_get_is_not_found(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    ref = create(scim_connector, "gone", "E-gone")

    scim_connector.delete_account(ref)
    scim_connector.delete_account(ref)  # already gone: success

    assert scim_server.get(f"/Users/{ref.native_id}") is None
    with pytest.raises(NotFound):
        scim_connector.get_account(ref)


def test_group_membership_is_patched_on_the_group_and_read_back(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    scim_server.create_group("Sales Team")
    scim_server.create_group("Everyone")
    ref = create(scim_connector, "member", "E-mem")

    scim_connector.add_to_group(ref, "sales team")  # names match without case
    scim_connector.add_to_group(ref, "Everyone")
    scim_connector.add_to_group(ref, "Everyone")
    assert scim_server.members("Sales Team") == {ref.native_id}
    assert scim_connector.get_account(ref).groups == {"Sales Team", "Everyone"}

    scim_connector.remove_from_group(ref, "Sales Team")
    scim_connector.remove_from_group(ref, "Sales Team")
    assert scim_server.members("Sales Team") == set()
    assert scim_connector.get_account(ref).groups == {"Everyone"}
    with pytest.raises(NotFound):
        scim_connector.add_to_group(ref, "No Such Group")


def test_a_deleted_user_leaves_no_ghost_in_its_groups(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    scim_server.create_group("Everyone")
    ours = create(scim_connector, "tidy", "E-tidy")
    other = create(scim_connector, "other", "E-other")
    for ref in (ours, other):
        scim_connector.add_to_group(ref, "Everyone")

    # The server's quirk: a user deleted behind our back stays a member.
    scim_server.delete(f"/Users/{other.native_id}")
    assert other.native_id in scim_server.members("Everyone")
    # Ours removes the memberships before it deletes (5.18: nothing left).
    scim_connector.delete_account(ours)

    assert ours.native_id not in scim_server.members("Everyone")
    with pytest.raises(NotFound):
        scim_connector.remove_from_group(other, "Everyone")  # gone is gone
    listed = {state.ref.native_id for state in scim_connector.iter_accounts()}
    assert other.native_id not in listed and ours.native_id not in listed


def test_find_by_user_name_filter_and_by_employee_id(
    scim_connector: ScimConnector,
) -> None:
    ref = create(scim_connector, "finder", "E-find")

    by_name = scim_connector.find_account(username="FINDER")  # case-insensitive
    by_employee = scim_connector.find_account(employee_id="E-find")

    assert by_name is not None and by_name.ref == ref
    assert by_employee is not None and by_employee.ref == ref
    assert scim_connector.find_account(username="finder", employee_id="E-x") is None
    assert scim_connector.find_account(username="nobody") is None


def test_paging_lists_more_users_than_a_page(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    for n in range(57):
        scim_server.post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"p{n:03d}@example.test",
            },
        )

    names = [state.ref.username for state in scim_connector.iter_accounts(10)]

    assert sorted(names) == [f"p{n:03d}" for n in range(57)]


def test_a_weak_password_is_refused_before_it_is_sent(
    scim_connector: ScimConnector,
) -> None:
    ref = create(scim_connector, "weak", "E-weak")

    with pytest.raises(PolicyRefused, match=r"5\.17"):
        scim_connector.set_password(ref, Secret("short1A"), must_change=True)
    scim_connector.set_password(ref, Secret("Another-Strong-9"), must_change=True)


def test_a_wrong_token_is_a_permanent_error_that_names_no_token(
    scim_settings: ScimSettings, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "not-the-token-" + "x" * 8
    settings = dataclasses.replace(scim_settings, token=Secret(wrong))
    connector = ScimConnector(settings, plain_session())
    caplog.set_level(logging.DEBUG)

    with pytest.raises(PermanentError, match="token") as raised:
        connector.find_account(username="anyone")

    assert not isinstance(raised.value, NotFound)
    assert wrong not in str(raised.value) and wrong not in caplog.text
    connector.close()


def test_admin_roles_are_read_from_the_users_roles(
    scim_connector: ScimConnector, scim_server: ScimTenant
) -> None:
    admin = create(scim_connector, "chief", "E-chief")
    create(scim_connector, "plain", "E-plain")
    scim_server.patch(
        f"/Users/{admin.native_id}",
        {
            "op": "add",
            "path": "roles",
            "value": [
                {"value": "Admin", "primary": True},
                {"value": "billing-viewer"},
            ],
        },
    )

    [role] = scim_connector.list_admin_roles()

    assert role.account == AccountRef(admin.native_id, "chief")
    assert (role.source, role.value, role.primary) == ("roles", "Admin", True)
    assert role.account_enabled and role.system_id == "saas"


def test_settings_refuse_plain_http_off_this_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        ScimSettings("s", "http://scim.example.test/v2", Secret("t"))
    with pytest.raises(ValueError, match="username"):
        ScimSettings(
            "s", "https://scim.example.test/v2", Secret("t"), username_format="x"
        )


def test_the_connectors_file_builds_it_with_the_token_from_the_environment(
    scim_server: ScimTenant,
) -> None:
    entry = SystemEntry(
        key="chat",
        kind="scim",
        name="Team chat",
        settings={
            "base_url": scim_server.base_url,
            "token_env": "IAM_CHAT_SCIM_TOKEN",
            "username_format": "{username}@example.test",
            "capabilities": ["groups", "delete"],
        },
    )

    connector = build_connector(entry, {"IAM_CHAT_SCIM_TOKEN": scim_server.token})
    try:
        # Declared: read without asking the provider, which has changePassword.
        assert connector.capabilities == {Capability.GROUPS, Capability.DELETE}
        assert connector.find_account(username="nobody") is None
        with pytest.raises(NotSupported):
            connector.set_password(
                AccountRef("x", "x"), Secret(STRONG), must_change=True
            )
    finally:
        connector.close()
    in_clear = entry.model_copy(
        update={"settings": {"base_url": "https://x.example.test", "token": "t"}}
    )
    with pytest.raises(ConnectorConfigError, match="token_env"):
        build_connector(in_clear, {})
