"""The offboarding case end to end, against every connected system there is:
the real Samba AD, Entra ID (the Graph test server through real msal) and a
SaaS tool (scim2-server). A person holding a laptop and a security card
leaves: every account is disabled and checked by reading each system
directly (not through our code); the case will not close while the card is
missing and closes once it is back; after the retention period (time
travel, no sleeping) the accounts are deleted in every system."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.entra import EntraConnector
from connectors.scim_settings import ScimSettings
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from jobs.scheduler import JOBS, run_exclusive
from tests.support.ad_service import AdTarget
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.offboarding import Clients
from tests.support.samba import SambaDc
from tests.support.scim_server import ScimTenant
from tests.support.service import drain, event, hire
from tests.support.three_systems import three_system_container
from tools.samba_directory import connect

pytestmark = pytest.mark.samba
SKU = "c7df2760-2c81-4ef7-b578-5b5392b571df"  # an E5-like SKU id (dummy)
RETURNED = {"condition": "good", "received_by": "General Affairs desk"}


@pytest.fixture
def systems(
    database: TestDatabase,
    ad_target: AdTarget,
    graph_server: GraphServer,
    entra_connector: EntraConnector,
    scim_server: ScimTenant,
    scim_settings: ScimSettings,
    clock: FrozenClock,
    tmp_path: Path,
) -> Iterator[Container]:
    container = three_system_container(
        database,
        ad_target,
        graph_server,
        entra_connector,
        scim_server,
        scim_settings,
        clock,
        tmp_path / "policies",
    )
    yield container
    container.close()


# -- direct reads of each system (never through the service's connectors) ---
def _ad(dc: SambaDc, target: AdTarget, employee_id: str) -> dict[str, Any] | None:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(employeeID={employee_id})",
            attributes=["userAccountControl", "memberOf"],
        )
        if not connection.entries:
            return None
        entry = connection.entries[0]
        return {
            "dn": entry.entry_dn,
            "enabled": not int(entry.userAccountControl.value) & 0x2,
            "groups": list(entry.memberOf.values) if "memberOf" in entry else [],
        }
    finally:
        connection.unbind()


def _entra(server: GraphServer, employee_id: str) -> dict[str, Any] | None:
    with server.directory.lock:
        found = [
            u
            for u in server.directory.users.values()
            if u.get("employeeId") == employee_id
        ]
    return found[0] if found else None


def _saas(tenant: ScimTenant, employee_id: str) -> dict[str, Any] | None:
    found = tenant.get("/Users", filter=f'externalId eq "{employee_id}"') or {}
    users = found.get("Resources", [])
    return users[0] if users else None


def _active(user: dict[str, Any]) -> bool:
    return user["active"] in (True, "true", "True")


def test_offboarding_end_to_end(
    systems: Container,
    samba_dc: SambaDc,
    ad_target: AdTarget,
    graph_server: GraphServer,
    scim_server: ScimTenant,
    clock: FrozenClock,
) -> None:
    person = f"Z{ad_target.sandbox.tag[:6]}"
    clients = Clients(systems)
    hr, admin = clients(Role.HR, "E-HR1"), clients(Role.SYSADMIN, "E-IT1")
    body = hire(person, given_name="Ends", family_name=f"Case{person}")
    assert hr.post("/api/v1/hr/events", json=body).status_code == 202
    drain(systems)
    user = _entra(graph_server, person)
    assert user is not None and user["accountEnabled"]
    with graph_server.directory.lock:
        graph_server.directory.assign_licenses(user["id"], [{"skuId": SKU}], [])
    ad, saas = _ad(samba_dc, ad_target, person), _saas(scim_server, person)
    assert ad is not None and ad["enabled"] and saas is not None and _active(saas)
    laptop, card = _assets(admin, person)

    left = hr.post(
        "/api/v1/hr/events", json=event("terminate", person, f"bye-{person}")
    )
    assert left.status_code == 202
    [case] = hr.get("/api/v1/offboarding/cases", params={"employee_id": person}).json()[
        "cases"
    ]
    assert case["status"] == "open"  # opened with the termination, before any work
    drain(systems)

    ad = _ad(samba_dc, ad_target, person)
    assert ad is not None and not ad["enabled"] and ad["groups"] == []
    assert ad["dn"].endswith(ad_target.sandbox.leavers)
    user = _entra(graph_server, person)
    assert user is not None and user["accountEnabled"] is False
    assert user["assignedLicenses"] == []
    assert user["id"] in graph_server.directory.revocations
    saas = _saas(scim_server, person)
    assert saas is not None and not _active(saas)
    detail = hr.get(f"/api/v1/offboarding/cases/{case['id']}").json()
    assert {a["system"]: a["disabled_verified"] for a in detail["accounts"]} == {
        "ad": True,
        "entra": True,
        "saas": True,
    }

    path = f"/api/v1/offboarding/cases/{case['id']}"
    assert hr.post(f"{path}/assets/{laptop}/return", json=RETURNED).is_success
    task = next(i for i in detail["items"] if i["kind"] == "card_deactivation")
    hr.post(f"{path}/items/{task['id']}/complete", json={"resolution": "deactivated"})
    refused = hr.post(f"{path}/close", json={})
    assert refused.status_code == 409
    [missing] = refused.json()["error"]["details"]
    assert missing["kind"] == "asset_return" and card in missing["message"]
    assert hr.post(f"{path}/assets/{card}/return", json=RETURNED).is_success
    closed = hr.post(f"{path}/close", json={"note": "everything back"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"

    _hand_over_data(hr, path, closed.json()["items"])
    retention = systems.policy().offboarding.account_retention_days
    clock.advance(timedelta(days=retention + 1))
    [delete_job] = [j for j in JOBS if j.name == "delete_offboarded_accounts"]
    assert run_exclusive(systems, delete_job)
    drain(systems)
    assert run_exclusive(systems, delete_job)
    assert _ad(samba_dc, ad_target, person) is None
    assert _entra(graph_server, person) is None
    assert _saas(scim_server, person) is None
    final = hr.get(path).json()
    assert {a["state"] for a in final["accounts"]} == {"deleted"}
    assert final["deletion"]["accounts_deleted_at"] is not None
    clients.close()


def _assets(admin: TestClient, person: str) -> tuple[str, str]:
    laptop = admin.post(
        "/api/v1/assets",
        json={
            "asset_type": "laptop",
            "tag": f"LT-{person}",
            "serial": f"PF-{person}",
            "description": "ThinkPad X1 Carbon",
            "holder_employee_id": person,
        },
    )
    card = admin.post(
        "/api/v1/assets",
        json={
            "asset_type": "security_card",
            "tag": f"CARD-{person}",
            "card_number": f"88{person[1:]}",
            "holder_employee_id": person,
        },
    )
    assert laptop.status_code == card.status_code == 201
    return laptop.json()["tag"], card.json()["tag"]


def _hand_over_data(hr: TestClient, path: str, items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["kind"] != "data_handover":
            continue
        if item["system"] == "saas":
            done = hr.post(
                f"{path}/items/{item['id']}/waive",
                json={"reason": "the chat workspace keeps no company files"},
            )
        else:
            resolution = "moved_to_manager" if item["system"] == "ad" else "archived"
            done = hr.post(
                f"{path}/items/{item['id']}/complete", json={"resolution": resolution}
            )
        assert done.status_code == 200, done.text
