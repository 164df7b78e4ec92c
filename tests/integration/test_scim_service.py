"""The service with two systems: AD (the in-memory fake) and a SaaS over SCIM
(scim2-server). A hire creates both accounts; a termination deactivates the
SCIM user, checked by a direct GET to scim2-server; and a SCIM outage during
a termination leaves its steps pending with the error while AD completes,
until the provider is back. The policy is a copy of the shipped one with a
SaaS role added (in tmp_path; the shipped defaults are unchanged)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from connectors.fake import FakeConnector
from connectors.scim import ScimConnector, ScimSettings
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.services import audit_trail
from iam_service.settings import REPO_ROOT
from iam_service.web.app import create_app
from tests.support.db import TestDatabase
from tests.support.scim_proxy import VendorProxy
from tests.support.scim_server import ScimTenant, plain_session
from tests.support.service import build, drain, event, hire

SAAS = "saas"
GROUP = "Everyone"


def policy_with_saas(directory: Path) -> Path:
    """The shipped policy plus a SaaS workspace every employee gets (8.3)."""
    shutil.copytree(REPO_ROOT / "policies", directory)
    catalogue_file = directory / "catalogue.yaml"
    catalogue = yaml.safe_load(catalogue_file.read_text(encoding="utf-8"))
    catalogue["entitlements"].append(
        {
            "ref": f"{SAAS}:{GROUP}",
            "name": "SaaS workspace",
            "description": "The team chat workspace.",
            "classification": "internal",
        }
    )
    catalogue["roles"].append(
        {
            "id": "saas-user",
            "name": "SaaS user",
            "entitlements": [f"{SAAS}:{GROUP}"],
            "accounts": ["ad", SAAS],
        }
    )
    catalogue_file.write_text(yaml.safe_dump(catalogue), encoding="utf-8")
    birthright_file = directory / "birthright.yaml"
    birthright = yaml.safe_load(birthright_file.read_text(encoding="utf-8"))
    birthright["birthright"].append(
        {
            "when": {"department": "*", "employment_types": ["employee"]},
            "roles": ["saas-user"],
        }
    )
    birthright_file.write_text(yaml.safe_dump(birthright), encoding="utf-8")
    return directory


def service(
    database: TestDatabase,
    fake_ad: FakeConnector,
    settings: ScimSettings,
    clock: FrozenClock,
    policy: Path,
) -> Container:
    scim = ScimConnector(settings, plain_session())
    return build(database, {"ad": fake_ad, SAAS: scim}, clock, policy_dir=policy)


@pytest.fixture
def saas_policy(tmp_path: Path, scim_server: ScimTenant) -> Path:
    scim_server.create_group(GROUP)
    return policy_with_saas(tmp_path / "policies")


@pytest.fixture
def sysadmin(container_under_test: Container) -> Iterator[TestClient]:
    token = container_under_test.auth.create_token("t", Role.SYSADMIN, actor="test")
    client = TestClient(
        create_app(container_under_test), headers={"Authorization": f"Bearer {token}"}
    )
    yield client
    client.close()


def submit(container: Container, body: dict[str, Any]) -> None:
    container.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr-system")


def scim_user(tenant: ScimTenant, employee_id: str) -> dict[str, Any]:
    """The user as scim2-server holds it, read without our connector."""
    found = tenant.get("/Users", filter=f'externalId eq "{employee_id}"') or {}
    [user] = found.get("Resources", [])
    return user


@pytest.fixture
def container_under_test(
    database: TestDatabase,
    fake_ad: FakeConnector,
    scim_proxy_settings: ScimSettings,
    clock: FrozenClock,
    saas_policy: Path,
) -> Iterator[Container]:
    container = service(database, fake_ad, scim_proxy_settings, clock, saas_policy)
    yield container
    container.close()


def test_a_termination_deactivates_the_scim_user(
    container_under_test: Container,
    fake_ad: FakeConnector,
    scim_server: ScimTenant,
) -> None:
    c = container_under_test
    submit(c, hire("E7001", "SALES", given_name="Hanako", family_name="Suzuki"))
    drain(c)
    user = scim_user(scim_server, "E7001")
    assert user["active"] is True and user["userName"] == "hsuzuki@example.test"
    assert scim_server.members(GROUP) == {user["id"]}
    ad = fake_ad.find_account(username="hsuzuki")
    assert ad is not None and ad.enabled

    submit(c, event("terminate", "E7001", "leave-7001"))
    drain(c)

    user = scim_user(scim_server, "E7001")
    assert user["active"] is False
    assert scim_server.members(GROUP) == set()  # 5.18: access removed
    ad = fake_ad.find_account(username="hsuzuki")
    assert ad is not None and not ad.enabled
    assert audit_trail.verify(c.uow).ok


def test_a_scim_outage_leaves_its_steps_pending_while_ad_completes(
    container_under_test: Container,
    fake_ad: FakeConnector,
    scim_server: ScimTenant,
    scim_proxy: VendorProxy,
    clock: FrozenClock,
    sysadmin: TestClient,
) -> None:
    c = container_under_test
    submit(c, hire("E7002", "ENG", given_name="Kenji", family_name="Mori"))
    drain(c)
    scim_proxy.down()

    submit(c, event("terminate", "E7002", "leave-7002"))
    drain(c)

    ad = fake_ad.find_account(username="kmori")
    assert ad is not None and not ad.enabled and not ad.groups
    assert scim_user(scim_server, "E7002")["active"] is True  # not reached yet
    identity = sysadmin.get("/api/v1/identities/E7002").json()
    pending = identity["pending_operations"]
    assert pending and {op["system"] for op in pending} == {SAAS}
    failed = [op for op in pending if op["last_error"]]
    assert [op["kind"] for op in failed] == ["disable_account"]
    assert "cannot reach" in failed[0]["last_error"]
    accounts = {a["system"]: a for a in identity["accounts"]}
    assert accounts["ad"]["state"] == "disabled" and accounts["ad"]["in_sync"]
    assert not accounts[SAAS]["in_sync"]

    scim_proxy.up()
    clock.advance(timedelta(minutes=10))
    drain(c)

    assert scim_user(scim_server, "E7002")["active"] is False
    assert scim_server.members(GROUP) == set()
    identity = sysadmin.get("/api/v1/identities/E7002").json()
    assert identity["pending_operations"] == []
    assert all(a["in_sync"] for a in identity["accounts"])
