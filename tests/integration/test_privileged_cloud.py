"""Discovery beyond AD (8.2): Entra ID directory role assignments through
the Graph test server (real msal), SaaS admin roles through scim2-server;
and a manual system's admin password, generated when its recipient opens
the one-time link, set by hand and confirmed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base import AccountSpec, Secret
from connectors.entra import EntraConnector
from connectors.scim import ScimConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.privileged_requests import ManualAccountCreate, RotationCreate
from iam_service.services.errors import ConflictError
from iam_service.services.secret_vault import Gone
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.privileged import (
    OFFICER,
    SYSADMIN,
    manual_system,
    person,
    recipient,
    signed_in_now,
)
from tests.support.scim_server import ScimTenant
from tests.support.service import build, drain

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


@pytest.fixture
def cloud(
    database: TestDatabase,
    clock: FrozenClock,
    entra_connector: EntraConnector,
    scim_connector: ScimConnector,
) -> Iterator[Container]:
    container = build(
        database, {"entra": entra_connector, "saas": scim_connector}, clock
    )
    yield container
    container.close()


def _spec(username: str) -> AccountSpec:
    return AccountSpec(
        username, f"X-{username}", "Cloud", "Admin", f"{username}@e.test"
    )


def test_entra_role_holders_are_in_the_inventory(
    cloud: Container, graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    admin = entra_connector.create_account(_spec("gadmin"), Secret("Dummy-Passw0rd!1"))
    group = graph_server.directory.add_group("Tier0 Admins")
    graph_server.directory.add_role(
        "Global Administrator", GLOBAL_ADMIN, [admin.native_id, group]
    )

    [report] = cloud.privileged.discovery.discover("entra", actor="test")

    assert report.error is None and report.found == 2
    found = {a["username"]: a for a in cloud.privileged.inventory.accounts()}
    assert found["gadmin"]["rights"] == ["Global Administrator"]
    assert found[f"group:{group}"]["rights"] == ["Global Administrator"]
    assert all(a["system"] == "entra" for a in found.values())


def test_saas_admin_roles_read_over_scim_are_in_the_inventory(
    cloud: Container, scim_server: ScimTenant, scim_connector: ScimConnector
) -> None:
    owner = scim_connector.create_account(_spec("owner1"), None)
    scim_connector.create_account(_spec("member1"), None)
    scim_server.patch(
        f"/Users/{owner.native_id}",
        {"op": "add", "path": "roles", "value": [{"value": "Owner"}]},
    )

    [report] = cloud.privileged.discovery.discover("saas", actor="test")

    assert report.error is None
    [account] = cloud.privileged.inventory.accounts()
    assert (account["system"], account["username"]) == ("saas", "owner1")
    assert account["rights"] == ["Owner"]


def test_a_manual_systems_password_is_generated_shown_once_and_confirmed(
    container: Container,
) -> None:
    person(container, "E0400")
    key = manual_system(container)
    account = container.privileged.inventory.register_manual(
        ManualAccountCreate(
            system_key=key, username="Administrator", custodians=("E0400",)
        ),
        SYSADMIN,
    )
    view = container.privileged.handovers.rotate_account(
        account["id"], RotationCreate(), OFFICER
    )
    [rotation] = view["rotations"]
    assert (rotation["kind"], rotation["state"]) == ("manual", "awaiting_person")
    who = recipient("E0400")
    with pytest.raises(ConflictError):  # set it first, then confirm
        container.privileged.links.confirm(rotation["id"], who)
    token = container.privileged.links.issue(rotation["id"], who)
    with container.uow() as uow:  # a fresh sign-in, as the console has it
        session_id = signed_in_now(uow, "E0400")
    _, secret = container.privileged.links.reveal(token, who, session_id)
    assert len(secret.reveal()) >= 8
    with pytest.raises(Gone):
        container.privileged.links.reveal(token, who, session_id)
    done = container.privileged.links.confirm(rotation["id"], who)
    assert done["state"] == "done"
    assert container.privileged.handovers.view(view["id"])["status"] == "done"
    assert container.privileged.inventory.account(account["id"])["last_rotated_at"]


def test_an_entra_admins_password_rotates_through_graph(
    cloud: Container, graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    person(cloud, "E0410")
    admin = entra_connector.create_account(_spec("radmin"), Secret("Dummy-Passw0rd!1"))
    graph_server.directory.add_role(
        "Global Administrator", GLOBAL_ADMIN, [admin.native_id]
    )
    cloud.privileged.discovery.discover("entra", actor="test")
    [account] = cloud.privileged.inventory.accounts()
    view = cloud.privileged.handovers.rotate_account(
        account["id"], RotationCreate(recipient_employee_id="E0410"), OFFICER
    )
    drain(cloud)
    [rotation] = cloud.privileged.handovers.view(view["id"])["rotations"]
    # Graph has no test sign-in: the reset is verified as accepted by Graph.
    assert (rotation["state"], rotation["checks"]) == ("verified", ["accepted"])
