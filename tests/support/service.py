"""The service wired for tests: real store, a frozen clock, chosen connectors.

``container`` uses the in-memory ``FakeConnector`` for system ``ad``; the
integration tests build their own container around the real Samba AD.
The builders approve their systems in the cloud-service register
(``approve_systems``), since a connector runs only for an approved system
(5.23) and most tests are not about the register.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.base import Capability, Connector
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container, bootstrap
from iam_service.domain.clock import FrozenClock
from iam_service.domain.model import Classification
from iam_service.domain.register import (
    Actor,
    CheckResult,
    Criterion,
    CriterionCheck,
    SystemRegistration,
    SystemUpdate,
)
from iam_service.domain.security import Role
from iam_service.services.errors import NotFoundError
from iam_service.settings import REPO_ROOT, Settings
from iam_service.web.app import create_app
from jobs.worker import ConnectorPool, Worker, WorkerConfig
from tests.support.db import TestDatabase

POLICY_GROUPS = (
    "GG-All-Staff",
    "GG-Contractors",
    "GG-Sales",
    "GG-Sales-Managers",
    "GG-Engineering",
    "GG-Eng-Leads",
    "GG-Finance",
    "GG-Finance-Approvers",
    "GG-HR",
    "GG-IT",
    "GG-General-Affairs",
    "Domain Admins",
)
START = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo


def make_settings(db: TestDatabase, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db.url,
        "database_schema": db.schema,
        "demo_mode": True,
        "policy_dir": REPO_ROOT / "policies",
        "scheduler_enabled": False,
        "queue_backoff_base_seconds": 1.0,
        "queue_max_attempts": 5,
    }
    values.update(overrides)
    return Settings(**values)


def build(
    db: TestDatabase,
    connectors: Mapping[str, Connector],
    clock: FrozenClock | None = None,
    **overrides: Any,
) -> Container:
    """The service with these connector instances (shared by all threads)."""
    return build_with_factory(
        db,
        connectors.__getitem__,
        {k: frozenset(c.capabilities) for k, c in connectors.items()},
        clock,
        **overrides,
    )


def build_with_factory(
    db: TestDatabase,
    factory: Callable[[str], Connector],
    capabilities: Mapping[str, frozenset[Capability]],
    clock: FrozenClock | None = None,
    *,
    approve: bool = True,
    **overrides: Any,
) -> Container:
    """The service building a connector per worker thread, as in production.

    ``approve=False`` leaves the systems out of the register (its tests)."""
    container = bootstrap(
        make_settings(db, **overrides),
        clock=clock,
        connector_factory=factory,
        capabilities=capabilities,
    )
    if approve:
        approve_systems(container, capabilities)
    return container


TEST_REQUESTER = Actor("test:sysadmin", frozenset({Role.SYSADMIN}))
TEST_APPROVER = Actor("test:security-officer", frozenset({Role.SECURITY_OFFICER}))
ALL_MET = {c: CriterionCheck(result=CheckResult.MET, note="test") for c in Criterion}


def approve_systems(container: Container, keys: Iterable[str]) -> None:
    """Register ``keys`` and approve them in the cloud-service register (5.23)
    through its use cases, as a system administrator and a security officer
    would: the queue runs operations only for approved systems."""
    register = container.register
    for key in keys:
        try:
            state = register.get(key).state
        except NotFoundError:
            state = register.register(
                SystemRegistration(
                    key=key,
                    name=f"Test system {key}",
                    kind="fake",
                    classification=Classification.INTERNAL,
                    purpose="automated tests",
                    owner="test team",
                    information="dummy people and accounts (8.33)",
                    criteria=ALL_MET,
                ),
                TEST_REQUESTER,
            ).state
        if state != "approved":
            details = SystemUpdate(information="dummy data (8.33)", criteria=ALL_MET)
            register.update(key, details, TEST_REQUESTER)
            register.approve(key, TEST_APPROVER, "approved for the test")


def drain(container: Container) -> int:
    """Run every operation that is due now, as a worker would."""
    pool = ConnectorPool(container.connector_factory)
    try:
        return Worker(
            container.queue, pool, WorkerConfig(threads=1), worker_id="test"
        ).drain()
    finally:
        pool.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def fake_ad() -> FakeConnector:
    return FakeConnector(system_id="ad", known_groups=set(POLICY_GROUPS))


@pytest.fixture
def container(
    database: TestDatabase, clock: FrozenClock, fake_ad: FakeConnector
) -> Iterator[Container]:
    c = build(database, {"ad": fake_ad}, clock)
    yield c
    c.close()


@pytest.fixture
def api(container: Container) -> Iterator[Callable[[Role], TestClient]]:
    """``api(Role.HR)`` is an HTTP client holding a token with that role."""
    clients: list[TestClient] = []

    def client(role: Role) -> TestClient:
        token = container.auth.create_token(
            f"test-{role}-{len(clients)}", role, actor="test"
        )
        tc = TestClient(
            create_app(container), headers={"Authorization": f"Bearer {token}"}
        )
        clients.append(tc)
        return tc

    yield client
    for tc in clients:
        tc.close()


def hire(
    employee_id: str,
    department: str = "SALES",
    title: str = "Staff",
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A hire event body with dummy data (8.33)."""
    employee = {
        "employee_id": employee_id,
        "given_name": extra.pop("given_name", "Taro"),
        "family_name": extra.pop("family_name", f"Test{employee_id}"),
        "email": extra.pop("email", f"{employee_id.lower()}@example.test"),
        "department": department,
        "title": title,
        **extra.pop("employee", {}),
    }
    return {
        "event_id": event_id or f"hire-{employee_id}",
        "type": "hire",
        "employee": employee,
        **extra,
    }


def event(kind: str, employee_id: str, event_id: str, **fields: Any) -> dict[str, Any]:
    effective = fields.pop("effective_at", None)
    body: dict[str, Any] = {
        "event_id": event_id,
        "type": kind,
        "employee": {"employee_id": employee_id, **fields},
    }
    if effective:
        body["effective_at"] = effective
    return body


def policy_dir() -> Path:
    return REPO_ROOT / "policies"
