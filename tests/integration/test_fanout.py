"""A termination fans out to every system at once, and one system's trouble
never delays the others: the real Samba AD, Entra ID (the Graph test server
through real msal) and a SaaS tool (scim2-server), each checked directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.entra import EntraConnector
from connectors.scim_settings import ScimSettings
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.operations import OperationStatus
from tests.support.ad_service import AdTarget
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.samba import SambaDc
from tests.support.scim_proxy import VendorProxy
from tests.support.scim_server import ScimTenant
from tests.support.service import drain, event, hire
from tests.support.three_systems import three_system_container
from tools.samba_directory import connect

pytestmark = pytest.mark.samba


@pytest.fixture
def systems(
    database: TestDatabase,
    ad_target: AdTarget,
    graph_server: GraphServer,
    entra_connector: EntraConnector,
    scim_server: ScimTenant,
    scim_proxy_settings: ScimSettings,
    clock: FrozenClock,
    tmp_path: Path,
) -> Iterator[Container]:
    container = three_system_container(
        database,
        ad_target,
        graph_server,
        entra_connector,
        scim_server,
        scim_proxy_settings,
        clock,
        tmp_path / "policies",
    )
    yield container
    container.close()


def _submit(c: Container, body: dict[str, Any]) -> None:
    c.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr-system")


def _ad_enabled(dc: SambaDc, target: AdTarget, employee_id: str) -> bool:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(employeeID={employee_id})",
            attributes=["userAccountControl"],
        )
        return not int(connection.entries[0].userAccountControl.value) & 0x2
    finally:
        connection.unbind()


def _entra_enabled(server: GraphServer, employee_id: str) -> bool:
    [user] = [
        u for u in server.directory.users.values() if u.get("employeeId") == employee_id
    ]
    return bool(user["accountEnabled"])


def _saas_active(tenant: ScimTenant, employee_id: str) -> bool:
    found = tenant.get("/Users", filter=f'externalId eq "{employee_id}"') or {}
    [user] = found.get("Resources", [])
    return user["active"] in (True, "true", "True")


def _pending_systems(c: Container) -> set[str]:
    with c.uow() as uow:
        return {o.system_key for o in uow.operations.list(OperationStatus.PENDING)}


def test_graph_throttling_never_delays_ad_or_the_saas_tool(
    systems: Container,
    samba_dc: SambaDc,
    ad_target: AdTarget,
    graph_server: GraphServer,
    scim_server: ScimTenant,
    clock: FrozenClock,
) -> None:
    person = f"F{ad_target.sandbox.tag[:6]}"
    _submit(systems, hire(person, given_name="Fan", family_name=f"Out{person}"))
    drain(systems)
    assert _ad_enabled(samba_dc, ad_target, person)
    assert _entra_enabled(graph_server, person) and _saas_active(scim_server, person)

    graph_server.faults.throttle(30, retry_after=30)
    _submit(systems, event("terminate", person, f"leave-{person}"))
    drain(systems)
    assert not _ad_enabled(samba_dc, ad_target, person)  # at once
    assert not _saas_active(scim_server, person)  # at once
    assert _entra_enabled(graph_server, person)
    assert _pending_systems(systems) == {"entra"}

    graph_server.faults.clear()
    clock.advance(timedelta(seconds=31))
    drain(systems)
    assert not _entra_enabled(graph_server, person)  # right after the window
    assert _pending_systems(systems) == set()


def test_a_saas_outage_retries_while_ad_and_entra_finish(
    systems: Container,
    samba_dc: SambaDc,
    ad_target: AdTarget,
    graph_server: GraphServer,
    scim_server: ScimTenant,
    scim_proxy: VendorProxy,
    clock: FrozenClock,
) -> None:
    person = f"G{ad_target.sandbox.tag[:6]}"
    _submit(systems, hire(person, given_name="Saas", family_name=f"Down{person}"))
    drain(systems)
    scim_proxy.down()
    _submit(systems, event("terminate", person, f"leave-{person}"))
    drain(systems)
    assert not _ad_enabled(samba_dc, ad_target, person)
    assert not _entra_enabled(graph_server, person)
    assert _pending_systems(systems) == {"saas"}
    with systems.uow() as uow:
        [first] = [
            o
            for o in uow.operations.list(OperationStatus.PENDING)
            if o.kind == "disable_account"
        ]
        assert first.attempts == 1 and first.last_error

    scim_proxy.up()
    clock.advance(timedelta(minutes=5))
    drain(systems)
    assert not _saas_active(scim_server, person)
    assert _pending_systems(systems) == set()
