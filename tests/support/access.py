"""Clients acting as people: tokens tied to an employee id, so that the
access-request rules (5.3: nobody approves their own request) can tell
people apart. Dummy names only (8.33)."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
from fastapi.testclient import TestClient

from iam_service.bootstrap import Container
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from tests.support.service import hire

_names = itertools.count()


class Person(Protocol):
    def __call__(self, role: Role | None, employee_id: str | None) -> TestClient: ...


def person_client(
    container: Container, role: Role | None, employee_id: str | None
) -> TestClient:
    """A client acting for ``employee_id`` with a token of ``role``; with no
    role, a plain employee: a local user holding no role (HTTP Basic)."""
    name = f"t{next(_names)}-{employee_id or 'machine'}"
    app = create_app(container)
    if role is None:
        password = "Dummy-passw0rd-8.33"  # dummy (8.33)
        container.auth.create_local_user(
            name, password, [], actor="test", employee_id=employee_id
        )
        basic = base64.b64encode(f"{name}:{password}".encode()).decode()
        return TestClient(app, headers={"Authorization": f"Basic {basic}"})
    token = container.auth.create_token(
        name, role, actor="test", employee_id=employee_id
    )
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def as_person(container: Container) -> Iterator[Person]:
    """``as_person(Role.SYSADMIN, "E900")``: an HTTP client for that person."""
    clients: list[TestClient] = []

    def make(role: Role | None, employee_id: str | None) -> TestClient:
        client = person_client(container, role, employee_id)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def hire_all(container: Container, *people: dict[str, Any]) -> None:
    for body in people:
        container.hr_intake.submit(HrEvent.model_validate(body), actor="test:hr")


def staff(employee_id: str, department: str, title: str = "Staff") -> dict[str, Any]:
    return hire(
        employee_id,
        department,
        title,
        given_name="Test",
        family_name=f"Person{employee_id}",
    )
