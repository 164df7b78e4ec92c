"""The service with Entra ID (the Graph test server, through real msal) beside
AD (the in-memory fake): joiners get accounts in both, leavers are disabled
in both and lose their Entra sessions; Graph throttling waits in the queue.
Also: the connectors file builds a working Entra connector. Dummy data (8.33).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from connectors.entra import EntraConnector
from connectors.fake import FakeConnector
from iam_service.adapters.connector_config import (
    ConnectorConfigError,
    SystemEntry,
    build_connector,
)
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.operations import OperationStatus
from iam_service.domain.security import Role
from iam_service.services import directory_sync
from iam_service.settings import REPO_ROOT
from iam_service.web.app import create_app
from tests.support.db import TestDatabase
from tests.support.graph_server import (
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT,
    GraphServer,
    app_certificate,
)
from tests.support.service import build, drain, event, hire

ENTRA_GROUP = "All Staff"


def entra_policy(directory: Path) -> Path:
    """The shipped policy, with staff also getting an Entra account and group."""
    for source in (REPO_ROOT / "policies").glob("*.yaml"):
        shutil.copy(source, directory / source.name)
    catalogue = directory / "catalogue.yaml"
    data = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
    data["entitlements"].append(
        {
            "ref": f"entra:{ENTRA_GROUP}",
            "name": "All staff (Microsoft 365)",
            "description": "Mail, Teams and the intranet in Microsoft 365.",
            "classification": "internal",
        }
    )
    staff = next(r for r in data["roles"] if r["id"] == "staff")
    staff["entitlements"].append(f"entra:{ENTRA_GROUP}")
    staff["accounts"] = ["ad", "entra"]
    catalogue.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return directory


@pytest.fixture
def service(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
    entra_connector: EntraConnector,
    tmp_path: Path,
) -> Iterator[Container]:
    graph_server.directory.add_group(ENTRA_GROUP)
    container = build(
        database,
        {"ad": fake_ad, "entra": entra_connector},
        clock,
        policy_dir=entra_policy(tmp_path),
    )
    yield container
    container.close()


@pytest.fixture
def hr(service: Container) -> Iterator[TestClient]:
    token = service.auth.create_token("test-hr", Role.HR, actor="test")
    with TestClient(
        create_app(service), headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def hire_and_drain(service: Container, hr: TestClient) -> None:
    body = hire("E2001", "SALES", given_name="Aiko", family_name="Mori")
    assert hr.post("/api/v1/hr/events", json=body).status_code == 202
    drain(service)


def entra_user(graph_server: GraphServer) -> dict[str, Any]:
    user = graph_server.directory.user_by_upn("amori@example.test")
    assert user is not None, "no Entra account for amori"
    return user


def test_a_leaver_is_disabled_in_ad_and_entra_and_loses_entra_sessions(
    service: Container,
    hr: TestClient,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
) -> None:
    hire_and_drain(service, hr)
    ad = fake_ad.find_account(username="amori")
    assert ad is not None and ad.enabled
    user = entra_user(graph_server)
    assert user["accountEnabled"] and user["employeeId"] == "E2001"
    assert graph_server.directory.group_names_of(user["id"]) == {ENTRA_GROUP}

    terminate = event("terminate", "E2001", "t-2001")
    assert hr.post("/api/v1/hr/events", json=terminate).status_code == 202
    drain(service)

    ad = fake_ad.find_account(username="amori")
    assert ad is not None and not ad.enabled and not ad.groups
    user = entra_user(graph_server)
    assert user["accountEnabled"] is False
    assert graph_server.directory.revocations == [user["id"]]
    assert graph_server.directory.group_names_of(user["id"]) == set()


def test_graph_throttling_during_a_termination_waits_in_the_queue(
    service: Container,
    hr: TestClient,
    fake_ad: FakeConnector,
    graph_server: GraphServer,
    clock: FrozenClock,
) -> None:
    hire_and_drain(service, hr)
    graph_server.faults.throttle(30, retry_after=30)

    hr.post("/api/v1/hr/events", json=event("terminate", "E2001", "t-2001"))
    drain(service)

    ad = fake_ad.find_account(username="amori")
    assert ad is not None and not ad.enabled  # AD did not wait for Graph
    assert entra_user(graph_server)["accountEnabled"] is True
    with service.uow() as uow:
        waiting = list(uow.operations.list(OperationStatus.PENDING))
    assert {o.system_key for o in waiting} == {"entra"}
    disable = next(o for o in waiting if o.kind == "disable_account")
    assert disable.next_attempt_at is not None
    assert disable.next_attempt_at >= clock.now() + timedelta(seconds=30)
    assert "Throttled" in (disable.last_error or "")

    graph_server.faults.clear()  # Graph lets us in again after Retry-After
    clock.advance(timedelta(seconds=29))
    drain(service)
    assert entra_user(graph_server)["accountEnabled"] is True  # not before 30 s
    clock.advance(timedelta(seconds=2))
    drain(service)
    user = entra_user(graph_server)
    assert user["accountEnabled"] is False
    assert graph_server.directory.revocations == [user["id"]]


def test_delta_changes_are_handed_over_before_the_link_is_stored(
    service: Container, entra_connector: EntraConnector, hr: TestClient
) -> None:
    hire_and_drain(service, hr)
    seen: list[int] = []

    first = directory_sync.sync_delta(
        service.uow, entra_connector, lambda page: seen.append(len(page.changes))
    )
    with pytest.raises(RuntimeError):
        directory_sync.sync_delta(service.uow, entra_connector, _crash)
    again = directory_sync.sync_delta(
        service.uow, entra_connector, lambda page: seen.append(len(page.changes))
    )

    assert seen == [1, 0]
    assert directory_sync.stored_delta_link(service.uow, "entra") == again.delta_link
    assert first.delta_link != again.delta_link


def _crash(_: object) -> None:
    raise RuntimeError("the caller failed half-way")


# -- the connectors file -----------------------------------------------------------


def entry(graph_server: GraphServer, **settings: Any) -> SystemEntry:
    values = {
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "domain": "example.test",
        "authority_host": graph_server.base_url,
        "graph_url": graph_server.graph_url,
        "ca_file": str(graph_server.pki.ca_cert),
        **settings,
    }
    return SystemEntry(key="entra", kind="entra", name="Entra ID", settings=values)


def test_the_connectors_file_builds_a_working_entra_connector(
    graph_server: GraphServer, tmp_path: Path
) -> None:
    by_secret = entry(graph_server, client_secret_env="IAM_ENTRA_CLIENT_SECRET")
    cert = app_certificate(tmp_path)
    graph_server.identity.register(
        CLIENT_ID, certificate_pem=cert.cert_file.read_bytes()
    )
    by_certificate = entry(
        graph_server,
        certificate_key_file=str(cert.key_file),
        certificate_thumbprint=cert.thumbprint.upper(),
    )
    for system in (by_secret, by_certificate):
        connector = build_connector(system, {"IAM_ENTRA_CLIENT_SECRET": CLIENT_SECRET})
        try:
            assert connector.find_account(username="nobody") is None
        finally:
            connector.close()


def test_a_bad_entra_entry_is_a_configuration_error(graph_server: GraphServer) -> None:
    with pytest.raises(ConnectorConfigError, match="exactly one"):
        build_connector(entry(graph_server), {})
    with pytest.raises(ConnectorConfigError, match="https"):
        build_connector(
            entry(
                graph_server,
                client_secret_env="S",
                graph_url="http://graph.example.test/v1.0",
            ),
            {"S": "x"},
        )
