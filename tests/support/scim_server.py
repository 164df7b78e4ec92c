"""Pytest fixtures for the independent scim2-server package as a real HTTP
server on loopback, and for the connector pointed at it.

One ``scim2-server`` process serves the whole session, started with
``--dynamic-tenants``: each test gets a tenant of its own (``/<tenant>/v2``,
created on its first request, with its own in-memory users and groups), so
tests are isolated without a reset, which the server does not have. Names
stay unique per test too, in case a test shares a tenant on purpose.

- ``scim_server``: the test's tenant: ``base_url``, ``token``, and direct
  HTTP helpers that check the connector's work without using it.
- ``scim_settings`` / ``scim_connector``: the connector on that tenant.
- ``scim_proxy``: a ``VendorProxy`` (HTTPS, test PKI) in front of the tenant,
  for vendor deviations, recorded requests and outages;
  ``scim_proxy_settings`` points the connector at it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.base import Secret
from connectors.scim import ScimConnector, ScimSettings
from tests.support.scim_proxy import VendorProxy
from tools.tls import Pki, ensure_test_pki

TOKEN = "scim-test-token-" + uuid.uuid4().hex  # dummy credential (8.33)
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_START_SECONDS = 20.0


@dataclass(frozen=True)
class Scim2Server:
    """The scim2-server process of this test session."""

    root: str  # http://127.0.0.1:PORT
    token: str
    version: str
    log: Path


@dataclass(frozen=True)
class ScimTenant:
    """One test's own SCIM service provider, and direct access to it."""

    base_url: str
    token: str
    name: str

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        with requests.Session() as session:
            session.trust_env = False
            return session.request(
                method,
                self.base_url + path,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=10,
                **kwargs,
            )

    def get(self, path: str, **params: str) -> dict[str, Any] | None:
        """A resource read straight from the server; None when it is gone."""
        response = self._request("GET", path, params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._request("POST", path, json=body)
        response.raise_for_status()
        created: dict[str, Any] = response.json()
        return created

    def patch(self, path: str, *operations: dict[str, Any]) -> None:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": list(operations),
        }
        self._request("PATCH", path, json=body).raise_for_status()

    def delete(self, path: str) -> None:
        self._request("DELETE", path).raise_for_status()

    def create_group(self, name: str) -> str:
        return str(
            self.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name})["id"]
        )

    def group_named(self, name: str) -> dict[str, Any]:
        found = self.get("/Groups", filter=f'displayName eq "{name}"') or {}
        [group] = found.get("Resources", [])
        return group

    def members(self, group_name: str) -> set[str]:
        return {m["value"] for m in self.group_named(group_name).get("members", [])}

    def user_named(self, user_name: str) -> dict[str, Any] | None:
        found = self.get("/Users", filter=f'userName eq "{user_name}"') or {}
        users = found.get("Resources", [])
        return users[0] if users else None


def pytest_report_header() -> str:
    # The server has no --version flag; its package says which one runs.
    return f"scim2-server {metadata.version('scim2-server')} (SCIM connector tests)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_it_answers(
    root: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + _START_SECONDS
    with requests.Session() as session:
        session.trust_env = False
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"scim2-server exited: {log.read_text()[-2000:]}")
            try:
                response = session.get(
                    f"{root}/probe/v2/ServiceProviderConfig",
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=2,
                )
                if response.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
    pytest.fail(f"scim2-server did not answer within {_START_SECONDS}s")


@pytest.fixture(scope="session")
def scim2_server_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scim2Server]:
    beside = Path(sys.executable).with_name("scim2-server")
    command = str(beside) if beside.exists() else shutil.which("scim2-server")
    if command is None:
        pytest.fail("scim2-server is not installed: pip install -e '.[test]'")
    port = _free_port()
    log = tmp_path_factory.mktemp("scim2-server") / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                command,
                "--hostname",
                "127.0.0.1",
                "--port",
                str(port),
                "--bearer-token",
                TOKEN,
                "--dynamic-tenants",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_until_it_answers(root, process, log)
        yield Scim2Server(root, TOKEN, metadata.version("scim2-server"), log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def scim_server(scim2_server_process: Scim2Server) -> ScimTenant:
    """A fresh, empty SCIM service provider for this test."""
    name = "t" + uuid.uuid4().hex[:16]
    return ScimTenant(
        f"{scim2_server_process.root}/{name}/v2", scim2_server_process.token, name
    )


@pytest.fixture
def scim_settings(scim_server: ScimTenant) -> ScimSettings:
    return ScimSettings(
        system_id="saas",
        base_url=scim_server.base_url,
        token=Secret(scim_server.token),
        username_format="{username}@example.test",
        page_size=50,
    )


def plain_session() -> requests.Session:
    """A session that ignores the machine's proxy and CA variables."""
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def scim_connector(scim_settings: ScimSettings) -> Iterator[ScimConnector]:
    connector = ScimConnector(scim_settings, plain_session())
    yield connector
    connector.close()


@pytest.fixture(scope="session")
def scim_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return ensure_test_pki(tmp_path_factory.mktemp("scim-tls"))


@pytest.fixture
def scim_proxy(scim_server: ScimTenant, scim_pki: Pki) -> Iterator[VendorProxy]:
    proxy = VendorProxy(scim_server.base_url, scim_server.token, scim_pki)
    yield proxy
    proxy.close()


@pytest.fixture
def scim_proxy_settings(
    scim_settings: ScimSettings, scim_proxy: VendorProxy, scim_pki: Pki
) -> ScimSettings:
    """The connector's settings through the proxy, verifying its certificate."""
    return replace(
        scim_settings, base_url=scim_proxy.base_url, ca_file=str(scim_pki.ca_cert)
    )
