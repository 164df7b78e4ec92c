"""The connector contract (connectors/base.py), asserted against every connector.

Each test runs once per connector in ``conftest.TARGETS``: the fake and
Active Directory on a real Samba DC today. All people here are dummies (8.33).
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from connectors.base import (
    AccountRef,
    AccountRestorer,
    AccountSpec,
    Capability,
    Conflict,
    NotFound,
    NotSupported,
    PolicyRefused,
    RetryableError,
    Secret,
)
from connectors.fake import FakeConnector
from tests.contract.conftest import Target

STRONG = Secret("Correct-Horse-42")
OTHER_STRONG = Secret("Battery-Staple-77")
# 5.17: 8+ characters of several kinds. Too short; and long but one kind only.
WEAK = [Secret("Ab1-x"), Secret("onlylowercaseletters")]


def person(target: Target, label: str, **changes: object) -> AccountSpec:
    username = target.unique(label)
    spec = AccountSpec(
        username=username,
        # AD holds at most 16 characters in employeeID.
        employee_id="E" + hashlib.sha256(username.encode()).hexdigest()[:12],
        given_name="Taro",
        family_name=f"Yamada {label}",
        email=f"{username}@example.test",
        department="Sales",
        title="Associate",
    )
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


def test_a_created_account_reads_back_as_specified(target: Target) -> None:
    spec = person(target, "create")
    ref = target.connector.create_account(spec, STRONG)

    state = target.connector.get_account(ref)

    assert ref.username == spec.username
    assert state.ref == ref
    assert state.employee_id == spec.employee_id
    assert state.enabled
    assert dict(state.attributes) == spec.attributes()
    assert state.groups == frozenset()


def test_creating_again_for_the_same_employee_adopts_the_account(
    target: Target,
) -> None:
    spec = person(target, "adopt")
    first = target.connector.create_account(spec, STRONG)

    assert target.connector.create_account(spec, OTHER_STRONG) == first


def test_a_user_name_held_by_another_employee_is_a_conflict(target: Target) -> None:
    spec = person(target, "conflict")
    target.connector.create_account(spec, STRONG)

    with pytest.raises(Conflict):
        target.connector.create_account(
            dataclasses.replace(spec, employee_id="E-someone-else"), STRONG
        )


def test_without_a_password_the_account_starts_disabled(target: Target) -> None:
    ref = target.connector.create_account(person(target, "nopass"), None)

    assert not target.connector.get_account(ref).enabled


def test_a_disabled_spec_creates_a_disabled_account(target: Target) -> None:
    ref = target.connector.create_account(person(target, "off", enabled=False), STRONG)

    assert not target.connector.get_account(ref).enabled


def test_find_by_user_name_or_employee_id(target: Target) -> None:
    spec = person(target, "find")
    ref = target.connector.create_account(spec, STRONG)

    by_name = target.connector.find_account(username=spec.username)
    by_employee = target.connector.find_account(employee_id=spec.employee_id)

    assert by_name is not None and by_name.ref == ref
    assert by_employee is not None and by_employee.ref == ref
    assert target.connector.find_account(username=target.unique("nobody")) is None


def test_the_native_id_survives_renames_and_the_move_to_leavers(target: Target) -> None:
    if Capability.MOVE_TO_LEAVERS not in target.connector.capabilities:
        pytest.skip("this system has no leavers' container")
    ref = target.connector.create_account(person(target, "mover"), STRONG)
    target.connector.update_account(
        ref, {"family_name": "Suzuki", "display_name": "Taro Suzuki"}
    )
    target.connector.move_to_leavers(ref)
    target.connector.move_to_leavers(ref)  # already there: success

    state = target.connector.get_account(ref)

    assert state.ref == ref
    assert state.attributes["display_name"] == "Taro Suzuki"
    assert state.location == target.leavers_location


def test_a_restorer_brings_a_leaver_back_from_the_leavers_container(
    target: Target,
) -> None:
    """``AccountRestorer`` (a rehire, 5.16): the optional inverse of
    ``move_to_leavers``; every connector with a leavers' container has it."""
    if Capability.MOVE_TO_LEAVERS not in target.connector.capabilities:
        pytest.skip("this system has no leavers' container")
    assert isinstance(target.connector, AccountRestorer)
    ref = target.connector.create_account(person(target, "rehire"), STRONG)
    home = target.connector.get_account(ref).location
    target.connector.move_to_leavers(ref)

    back = target.connector.restore_account(ref)
    again = target.connector.restore_account(ref)  # already back: success

    state = target.connector.get_account(ref)
    assert state.ref == ref
    assert back == again == state.location
    assert (state.location or "").casefold() == (home or "").casefold()
    assert not state.hidden_from_address_lists


def test_update_changes_what_is_given_and_none_clears(target: Target) -> None:
    spec = person(target, "update")
    ref = target.connector.create_account(spec, STRONG)

    target.connector.update_account(ref, {"title": "Manager", "department": None})

    attributes = target.connector.get_account(ref).attributes
    assert attributes["title"] == "Manager"
    assert attributes["department"] is None
    assert attributes["email"] == spec.email


def test_unknown_attribute_names_are_a_programming_error(target: Target) -> None:
    ref = target.connector.create_account(person(target, "badattr"), STRONG)

    with pytest.raises(ValueError, match="unknown attributes"):
        target.connector.update_account(ref, {"favourite_colour": "blue"})


def test_the_manager_reads_back_as_a_native_id(target: Target) -> None:
    boss = target.connector.create_account(person(target, "boss"), STRONG)
    spec = person(target, "report", manager_native_id=boss.native_id)
    ref = target.connector.create_account(spec, STRONG)

    assert (
        target.connector.get_account(ref).attributes["manager_native_id"]
        == boss.native_id
    )

    target.connector.update_account(ref, {"manager_native_id": None})
    assert target.connector.get_account(ref).attributes["manager_native_id"] is None


def test_enable_and_disable_read_back_and_repeat_harmlessly(target: Target) -> None:
    ref = target.connector.create_account(person(target, "toggle"), STRONG)

    target.connector.set_enabled(ref, False)
    target.connector.set_enabled(ref, False)
    assert not target.connector.get_account(ref).enabled

    target.connector.set_enabled(ref, True)
    target.connector.set_enabled(ref, True)
    assert target.connector.get_account(ref).enabled


def test_group_membership_is_idempotent(target: Target) -> None:
    staff, finance = target.groups
    ref = target.connector.create_account(person(target, "member"), STRONG)

    target.connector.add_to_group(ref, staff)
    target.connector.add_to_group(ref, staff)
    target.connector.add_to_group(ref, finance)
    assert target.connector.get_account(ref).groups == {staff, finance}

    target.connector.remove_from_group(ref, staff)
    target.connector.remove_from_group(ref, staff)
    assert target.connector.get_account(ref).groups == {finance}


def test_an_unknown_group_is_not_found(target: Target) -> None:
    ref = target.connector.create_account(person(target, "nogroup"), STRONG)

    with pytest.raises(NotFound):
        target.connector.add_to_group(ref, target.unique("no-such-group"))


def test_delete_is_idempotent_and_the_account_is_gone(target: Target) -> None:
    staff, _ = target.groups
    ref = target.connector.create_account(person(target, "delete"), STRONG)

    target.connector.delete_account(ref)
    target.connector.delete_account(ref)

    with pytest.raises(NotFound):
        target.connector.get_account(ref)
    with pytest.raises(NotFound):
        target.connector.set_enabled(ref, False)
    with pytest.raises(NotFound):
        target.connector.add_to_group(ref, staff)
    assert target.connector.find_account(username=ref.username) is None


def test_an_account_that_never_existed_is_not_found(target: Target) -> None:
    ghost = AccountRef("00000000-0000-4000-8000-000000000000", "ghost")

    with pytest.raises(NotFound):
        target.connector.get_account(ghost)


def test_iter_accounts_pages_through_every_account(target: Target) -> None:
    refs = {
        target.connector.create_account(person(target, f"page{n}"), None)
        for n in range(7)
    }

    seen = [state.ref for state in target.connector.iter_accounts(page_size=3)]

    assert refs <= set(seen)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("weak", WEAK, ids=["too-short", "one-kind-of-character"])
def test_a_password_the_policy_refuses_is_policy_refused(
    target: Target, weak: Secret
) -> None:
    spec = person(target, "weak")
    ref = target.connector.create_account(spec, STRONG)

    with pytest.raises(PolicyRefused):
        target.connector.set_password(ref, weak, must_change=False)
    with pytest.raises(PolicyRefused):
        target.connector.create_account(person(target, "weaknew"), weak)
    assert target.connector.find_account(username=target.unique("weaknew")) is None


def test_check_password_tells_right_from_wrong(target: Target) -> None:
    _needs(target, Capability.TEST_BIND)
    ref = target.connector.create_account(person(target, "check"), STRONG)

    assert target.connector.check_password(ref, STRONG)  # even while it must change
    assert not target.connector.check_password(ref, OTHER_STRONG)
    assert not target.connector.check_password(ref, Secret(""))

    target.connector.set_password(ref, OTHER_STRONG, must_change=False)
    assert target.connector.check_password(ref, OTHER_STRONG)
    assert not target.connector.check_password(ref, STRONG)


def test_a_disabled_account_does_not_sign_in(target: Target) -> None:
    _needs(target, Capability.TEST_BIND)
    ref = target.connector.create_account(person(target, "locked"), STRONG)
    target.connector.set_password(ref, OTHER_STRONG, must_change=False)
    target.connector.set_enabled(ref, False)

    assert not target.connector.check_password(ref, OTHER_STRONG)


def test_revoking_sessions_works_or_is_declared_unsupported(target: Target) -> None:
    ref = target.connector.create_account(person(target, "sessions"), STRONG)

    if Capability.REVOKE_SESSIONS in target.connector.capabilities:
        target.connector.revoke_sessions(ref)
    else:
        with pytest.raises(NotSupported):
            target.connector.revoke_sessions(ref)


def test_operations_a_system_lacks_raise_not_supported(target: Target) -> None:
    ref = target.connector.create_account(person(target, "lacks"), STRONG)
    calls = {
        Capability.TEST_BIND: lambda: target.connector.check_password(ref, STRONG),
        Capability.MOVE_TO_LEAVERS: lambda: target.connector.move_to_leavers(ref),
    }
    for capability, call in calls.items():
        if capability not in target.connector.capabilities:
            with pytest.raises(NotSupported):
                call()


def test_a_missing_manager_is_not_found(target: Target) -> None:
    ghost = "00000000-0000-4000-8000-000000000000"

    with pytest.raises(NotFound):
        target.connector.create_account(
            person(target, "orphan", manager_native_id=ghost), STRONG
        )


def _needs(target: Target, capability: Capability) -> None:
    if capability not in target.connector.capabilities:
        pytest.skip(f"this system has no {capability.value}")


# -- the fake's own test controls ----------------------------------------------


def test_the_fake_records_calls_with_secrets_masked() -> None:
    fake = FakeConnector(known_groups={"staff"})
    spec = AccountSpec("rec", "E1", "Jiro", "Sato", "rec@example.test")

    ref = fake.create_account(spec, STRONG)
    fake.set_password(ref, OTHER_STRONG, must_change=True)

    assert fake.calls == [
        ("create_account", (spec, "***")),
        ("set_password", (ref, "***", True)),
    ]
    assert STRONG.reveal() not in repr(fake.calls)


def test_the_fake_simulates_an_outage_and_injected_errors() -> None:
    fake = FakeConnector()
    spec = AccountSpec("flaky", "E2", "Jiro", "Sato", "flaky@example.test")
    fake.outage = True
    with pytest.raises(RetryableError):
        fake.create_account(spec, None)
    fake.outage = False

    fake.fail_next("create_account", Conflict("injected"))
    with pytest.raises(Conflict, match="injected"):
        fake.create_account(spec, None)
    assert fake.create_account(spec, None).username == "flaky"  # only once
