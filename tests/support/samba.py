"""Pytest fixtures for a real Samba AD domain controller on loopback.

``samba_dc`` (session) starts the DC through ``tools.samba_dc`` or reuses a
running one, and at the end stops it only if this session started it and no
other pytest session still uses it. Start one yourself
(``python -m tools.samba_dc start``) to keep it running between runs.

``ad_sandbox`` gives each test its own OU tree with People, Groups and
Leavers and two groups, deleted afterwards; ``ad_settings`` points the AD
connector at it; ``ad_admin`` is an Administrator ldap3 connection for
checking the connector's work independently of it.

Tests using these need ``@pytest.mark.samba``; tests that request the fixtures
directly get the marker automatically. Without Samba installed they fail
with a clear message instead of skipping: CI installs it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.active_directory import ADSettings
from connectors.base import Secret
from tools import samba_dc as dc_tool
from tools.samba_directory import connect, delete_tree, ensure_layout

SAMBA_FIXTURES = frozenset({"samba_dc", "ad_sandbox", "ad_settings", "ad_admin"})


@dataclass(frozen=True)
class SambaDc:
    """How to reach the test DC (dummy credentials, 8.33)."""

    url: str
    base_dn: str
    admin_user: str
    admin_password: str
    ca_file: str
    realm: str
    upn_suffix: str


@dataclass(frozen=True)
class AdSandbox:
    """One test's OU tree: ``root`` holds ``people``, ``groups`` and ``leavers``;
    ``group_names`` are sAMAccountNames of groups that exist in ``groups``."""

    tag: str
    root: str
    people: str
    groups: str
    leavers: str
    group_names: tuple[str, ...]

    def unique_name(self, label: str) -> str:
        """A user name no other test uses, within AD's 20 characters."""
        return f"{label[:10]}-{self.tag}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SAMBA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.samba)


@pytest.fixture(scope="session")
def samba_dc() -> Iterator[SambaDc]:
    directory = dc_tool.default_directory()
    problem = None
    try:
        dc = dc_tool.acquire(directory)
    except dc_tool.SambaNotInstalled as exc:
        problem = f"tests marked 'samba' need Samba installed: {exc}"
    except dc_tool.SambaError as exc:
        problem = f"could not start the Samba AD DC in {directory}: {exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)
    try:
        yield SambaDc(
            url=dc.url,
            base_dn=dc.base_dn,
            admin_user=dc.admin_user,
            admin_password=dc.admin_password,
            ca_file=str(dc.ca_file),
            realm=dc.realm,
            upn_suffix=dc.realm.lower(),
        )
    finally:
        dc_tool.release(directory)


@pytest.fixture
def ad_admin(samba_dc: SambaDc) -> Iterator[Any]:
    """An ldap3 connection bound as Administrator (raises on LDAP errors)."""
    connection = _admin(samba_dc)
    yield connection
    connection.unbind()


@pytest.fixture
def ad_sandbox(samba_dc: SambaDc) -> Iterator[AdSandbox]:
    tag = secrets.token_hex(4)
    root = f"OU=t-{tag},{samba_dc.base_dn}"
    groups = (f"g-{tag}-staff", f"g-{tag}-finance")
    connection = _admin(samba_dc)
    try:
        layout = ensure_layout(connection, root, groups)
        yield AdSandbox(tag, root, layout.people, layout.groups, layout.leavers, groups)
    finally:
        delete_tree(connection, root)
        connection.unbind()


@pytest.fixture
def ad_settings(samba_dc: SambaDc, ad_sandbox: AdSandbox) -> ADSettings:
    return ADSettings(
        system_id="ad",
        url=samba_dc.url,
        bind_user=samba_dc.admin_user,
        bind_password=Secret(samba_dc.admin_password),
        base_dn=samba_dc.base_dn,
        users_ou=ad_sandbox.people,
        groups_ou=ad_sandbox.groups,
        leavers_ou=ad_sandbox.leavers,
        ca_file=samba_dc.ca_file,
        upn_suffix=samba_dc.upn_suffix,
    )


def _admin(dc: SambaDc) -> Any:
    return connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
