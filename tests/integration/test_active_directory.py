"""The AD connector against a real Samba AD DC, checked with our own LDAP reads.

What the contract suite cannot see: the attributes as AD stores them, what a
user's own bind says, TLS (8.24), and how the connector survives a dropped
connection or a DC that is down. Every person here is a dummy (8.33).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from ldap3.core.exceptions import LDAPInvalidCredentialsResult

from connectors.active_directory import ActiveDirectoryConnector, ADSettings
from connectors.ad_settings import ldap_connection_factory
from connectors.base import (
    AccountRef,
    AccountSpec,
    PermanentError,
    PolicyRefused,
    RetryableError,
    Secret,
)
from tests.support.samba import AdSandbox, SambaDc
from tools.samba_directory import connect
from tools.tls import ensure_test_pki

pytestmark = pytest.mark.samba

INITIAL = Secret("Initial-Pass-2024")
CHOSEN = Secret("Chosen-Pass-2025")
ACCOUNTDISABLE = 0x2
DONT_EXPIRE_PASSWORD = 0x10000


@pytest.fixture
def connector(ad_settings: ADSettings) -> Iterator[ActiveDirectoryConnector]:
    ad = ActiveDirectoryConnector(ad_settings)
    yield ad
    ad.close()


def spec(sandbox: AdSandbox, label: str, **extra: Any) -> AccountSpec:
    username = sandbox.unique_name(label)
    return AccountSpec(
        username=username,
        employee_id=f"E{sandbox.tag}{label[:4]}",
        given_name="Hanako",
        family_name="Tanaka",
        email=f"{username}@example.test",
        department="Finance",
        title="Analyst",
        **extra,
    )


def read(admin: Any, ref: AccountRef, *attributes: str) -> tuple[str, dict[str, Any]]:
    """The account's DN and raw attribute values, read directly by objectGUID."""
    admin.search(
        f"<GUID={ref.native_id}>",
        "(objectClass=user)",
        "BASE",
        attributes=list(attributes),
    )
    entry = admin.response[0]
    return entry["dn"], dict(entry["raw_attributes"])


def text(values: list[bytes]) -> list[str]:
    return [value.decode() for value in values]


def bind_as(dc: SambaDc, dn: str, password: Secret) -> None:
    connect(dc.url, dn, password.reveal(), dc.ca_file).unbind()


def test_attributes_land_in_ad_as_ad_names_them(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox
) -> None:
    boss = connector.create_account(spec(ad_sandbox, "boss"), INITIAL)
    ref = connector.create_account(
        spec(ad_sandbox, "clerk", manager_native_id=boss.native_id), INITIAL
    )

    dn, attrs = read(
        ad_admin,
        ref,
        "sAMAccountName",
        "userPrincipalName",
        "displayName",
        "mail",
        "employeeID",
        "manager",
        "objectGUID",
    )
    boss_dn, _ = read(ad_admin, boss, "cn")

    assert dn.endswith("," + ad_sandbox.people)
    assert text(attrs["sAMAccountName"]) == [ref.username]
    assert text(attrs["userPrincipalName"]) == [f"{ref.username}@corp.example.test"]
    assert text(attrs["displayName"]) == ["Hanako Tanaka"]
    assert text(attrs["employeeID"]) == [f"E{ad_sandbox.tag}cler"]
    assert text(attrs["manager"]) == [boss_dn]
    assert str(uuid.UUID(bytes_le=attrs["objectGUID"][0])) == ref.native_id


def test_the_initial_password_works_and_must_be_changed(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox, samba_dc: SambaDc
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "newbie"), INITIAL)
    dn, attrs = read(ad_admin, ref, "pwdLastSet", "userAccountControl")

    assert text(attrs["userAccountControl"]) == ["512"]  # normal, enabled
    assert text(attrs["pwdLastSet"]) == ["0"]  # must change at next sign-in
    with pytest.raises(LDAPInvalidCredentialsResult, match="data 773"):
        bind_as(samba_dc, dn, INITIAL)  # 773: right password, must change it

    connector.set_password(ref, CHOSEN, must_change=False)

    bind_as(samba_dc, dn, CHOSEN)
    assert text(read(ad_admin, ref, "pwdLastSet")[1]["pwdLastSet"]) != ["0"]
    assert connector.get_account(ref).last_sign_in is not None


def test_disabling_keeps_other_flags_and_blocks_sign_in(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox, samba_dc: SambaDc
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "leaver"), INITIAL)
    connector.set_password(ref, CHOSEN, must_change=False)
    dn, _ = read(ad_admin, ref)
    ad_admin.modify(
        dn, {"userAccountControl": [("MODIFY_REPLACE", [0x200 | DONT_EXPIRE_PASSWORD])]}
    )

    connector.set_enabled(ref, False)

    uac = int(read(ad_admin, ref, "userAccountControl")[1]["userAccountControl"][0])
    assert uac == 0x200 | DONT_EXPIRE_PASSWORD | ACCOUNTDISABLE
    with pytest.raises(LDAPInvalidCredentialsResult, match="data 533"):
        bind_as(samba_dc, dn, CHOSEN)  # 533: account disabled
    assert not connector.check_password(ref, CHOSEN)


def test_move_to_leavers_keeps_the_object_and_its_name(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "goodbye"), INITIAL)
    connector.add_to_group(ref, ad_sandbox.group_names[0])

    connector.move_to_leavers(ref)

    dn, attrs = read(ad_admin, ref, "memberOf", "msExchHideFromAddressLists")
    assert dn == f"CN={ref.username},{ad_sandbox.leavers}"
    assert text(attrs["memberOf"]) == [
        f"CN={ad_sandbox.group_names[0]},{ad_sandbox.groups}"
    ]
    # Samba's schema has no Exchange attributes: nothing to hide, no error.
    assert not attrs["msExchHideFromAddressLists"]
    assert [s.ref for s in connector.iter_accounts(page_size=1)] == [ref]


def test_group_membership_is_the_groups_member_attribute(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "joiner"), None)
    dn, _ = read(ad_admin, ref)
    group_dn = f"CN={ad_sandbox.group_names[1]},{ad_sandbox.groups}"

    connector.add_to_group(ref, ad_sandbox.group_names[1])
    ad_admin.search(group_dn, "(objectClass=group)", "BASE", attributes=["member"])
    assert ad_admin.response[0]["attributes"]["member"] == [dn]

    connector.remove_from_group(ref, ad_sandbox.group_names[1])
    ad_admin.search(group_dn, "(objectClass=group)", "BASE", attributes=["member"])
    assert not ad_admin.response[0]["attributes"].get("member")


def test_a_weak_password_is_refused_with_ads_reason(
    connector: Any, ad_sandbox: AdSandbox
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "weakling"), INITIAL)

    with pytest.raises(PolicyRefused) as refused:
        connector.set_password(ref, Secret("password"), must_change=False)

    message = str(refused.value)
    assert "does not meet the complexity criteria" in message
    assert "0000052D" in message
    assert 'password"' not in message and "'password'" not in message


def test_delete_removes_the_object(
    connector: Any, ad_admin: Any, ad_sandbox: AdSandbox
) -> None:
    ref = connector.create_account(spec(ad_sandbox, "gone"), INITIAL)

    connector.delete_account(ref)

    ad_admin.search(ad_sandbox.root, f"(sAMAccountName={ref.username})")
    assert ad_admin.entries == []


def recording(settings: ADSettings) -> tuple[Callable[[], Any], list[Any]]:
    made: list[Any] = []
    real = ldap_connection_factory(settings)

    def factory() -> Any:
        made.append(real())
        return made[-1]

    return factory, made


@pytest.mark.parametrize("drop", ["socket shut down", "unbound"])
def test_a_dropped_connection_is_reopened_once(
    ad_settings: ADSettings, ad_sandbox: AdSandbox, drop: str
) -> None:
    factory, made = recording(ad_settings)
    connector = ActiveDirectoryConnector(ad_settings, connection_factory=factory)
    ref = connector.create_account(spec(ad_sandbox, "steady"), INITIAL)
    assert len(made) == 1  # one connection for every operation so far

    if drop == "unbound":
        made[0].unbind()
    else:
        made[0].socket.shutdown(socket.SHUT_RDWR)

    assert connector.get_account(ref).ref == ref
    assert len(made) == 2
    assert ad_settings.bind_password.reveal() not in repr(made[1])
    connector.close()


def test_a_dc_that_is_down_is_a_retryable_error(ad_settings: ADSettings) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = replace(ad_settings, url=f"ldaps://127.0.0.1:{port}")
    connector = ActiveDirectoryConnector(settings)

    with pytest.raises(RetryableError, match="unreachable"):
        connector.find_account(username="anyone")


def test_an_untrusted_certificate_is_refused_for_good(
    ad_settings: ADSettings, tmp_path: Any
) -> None:
    stranger = ensure_test_pki(tmp_path)  # a CA that did not sign the DC's cert
    connector = ActiveDirectoryConnector(
        replace(ad_settings, ca_file=str(stranger.ca_cert))
    )

    with pytest.raises(PermanentError, match=r"certificate.*8\.24"):
        connector.find_account(username="anyone")


def test_plain_ldap_needs_starttls(
    ad_settings: ADSettings, ad_sandbox: AdSandbox
) -> None:
    with pytest.raises(ValueError, match="start_tls"):
        replace(ad_settings, url="ldap://127.0.0.1:389")

    settings = replace(ad_settings, url="ldap://127.0.0.1:389", start_tls=True)
    factory, made = recording(settings)
    connector = ActiveDirectoryConnector(settings, connection_factory=factory)

    ref = connector.create_account(spec(ad_sandbox, "starttls"), INITIAL)

    assert made[0].tls_started
    assert connector.check_password(ref, INITIAL)
    connector.close()


def test_a_wrong_service_password_is_a_permanent_error(ad_settings: ADSettings) -> None:
    wrong = "Not-The-Admin-Pass-1"
    connector = ActiveDirectoryConnector(
        replace(ad_settings, bind_password=Secret(wrong))
    )

    with pytest.raises(PermanentError, match="service account") as refused:
        connector.find_account(username="anyone")

    assert wrong not in str(refused.value)
