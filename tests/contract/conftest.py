"""Connectors under contract test, one factory fixture per connector.

Every test in this directory that asks for ``target`` runs once per entry of
``TARGETS``. To add a connector: write a ``<name>_target`` fixture returning a
``Target`` for a fresh, isolated piece of that system, and add one
``pytest.param`` line (with the marker its server needs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from connectors.active_directory import ActiveDirectoryConnector, ADSettings
from connectors.base import Connector
from connectors.entra import EntraConnector
from connectors.fake import FakeConnector
from connectors.scim import ScimConnector, ScimSettings
from tests.support.graph_server import GraphServer
from tests.support.samba import AdSandbox
from tests.support.scim_server import ScimTenant, plain_session

TARGETS = [
    pytest.param("fake_target", id="fake"),
    pytest.param(
        "active_directory_target", id="active_directory", marks=pytest.mark.samba
    ),
    pytest.param("entra_target", id="entra"),
    pytest.param("scim_target", id="scim"),
]


@dataclass(frozen=True)
class Target:
    """A connector and what the suite must know about its system.

    ``groups``: two groups that exist. ``unique``: turns a label into a user
    name no other test uses (the same label gives the same name).
    ``leavers_location``: the
    ``AccountState.location`` of an account after ``move_to_leavers``.
    """

    connector: Connector
    groups: tuple[str, str]
    unique: Callable[[str], str]
    leavers_location: str | None


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> Target:
    fixture_name: str = request.param
    found: Target = request.getfixturevalue(fixture_name)
    return found


@pytest.fixture
def fake_target() -> Iterator[Target]:
    connector = FakeConnector(known_groups={"staff", "finance"})
    yield Target(
        connector=connector,
        groups=("staff", "finance"),
        unique=lambda label: f"{label[:10]}-fake",
        leavers_location=connector.leavers_location,
    )
    connector.close()


@pytest.fixture
def active_directory_target(
    ad_settings: ADSettings, ad_sandbox: AdSandbox
) -> Iterator[Target]:
    connector = ActiveDirectoryConnector(ad_settings)
    staff, finance = ad_sandbox.group_names
    yield Target(
        connector=connector,
        groups=(staff, finance),
        unique=ad_sandbox.unique_name,
        leavers_location=ad_sandbox.leavers,
    )
    connector.close()


@pytest.fixture
def scim_target(
    scim_server: ScimTenant, scim_settings: ScimSettings
) -> Iterator[Target]:
    """scim2-server over HTTP, a tenant of its own per test."""
    groups = ("Staff", "Finance")
    for name in groups:
        scim_server.create_group(name)
    connector = ScimConnector(scim_settings, plain_session())
    yield Target(
        connector=connector,
        groups=groups,
        unique=lambda label: f"{label[:20]}-scim",
        leavers_location=None,
    )
    connector.close()


@pytest.fixture
def entra_target(graph_server: GraphServer, entra_connector: EntraConnector) -> Target:
    """Entra ID through real msal and HTTPS, on the Graph test server."""
    for group in ("staff", "finance"):
        graph_server.directory.add_group(group)
    return Target(
        connector=entra_connector,
        groups=("staff", "finance"),
        unique=lambda label: f"{label[:10]}-entra",
        leavers_location=None,
    )
