"""Helpers for offboarding tests: people with assets, HTTP clients per role,
and the audit count that shows a refused request wrote nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from tests.support.service import event, hire


class Clients:
    """``clients(Role.HR)``: an HTTP client with a token of that role, tied
    to ``employee_id`` when given (5.3 checks compare people)."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._open: list[TestClient] = []

    def __call__(self, role: Role, employee_id: str | None = None) -> TestClient:
        token = self.container.auth.create_token(
            f"t{len(self._open)}-{role}", role, actor="test", employee_id=employee_id
        )
        client = TestClient(
            create_app(self.container), headers={"Authorization": f"Bearer {token}"}
        )
        self._open.append(client)
        return client

    def close(self) -> None:
        for client in self._open:
            client.close()


@pytest.fixture
def clients(container: Container) -> Iterator[Clients]:
    made = Clients(container)
    yield made
    made.close()


def submit(container: Container, body: dict[str, Any]) -> dict[str, Any]:
    return container.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr")


def hire_person(
    container: Container, employee_id: str, department: str = "SALES", **extra: Any
) -> None:
    submit(
        container,
        hire(
            employee_id,
            department,
            given_name=extra.pop("given_name", "Taro"),
            family_name=extra.pop("family_name", f"Leaver{employee_id}"),
            **extra,
        ),
    )


def terminate(container: Container, employee_id: str, **fields: Any) -> dict[str, Any]:
    return submit(
        container, event("terminate", employee_id, f"leave-{employee_id}", **fields)
    )


def give_assets(client: TestClient, employee_id: str, tag: str = "LT") -> list[str]:
    """A laptop and a security card for ``employee_id``; returns the tags."""
    laptop = client.post(
        "/api/v1/assets",
        json={
            "asset_type": "laptop",
            "tag": f"{tag}-{employee_id}",
            "serial": f"SN-{employee_id}",
            "description": "ThinkPad X1",
            "holder_employee_id": employee_id,
        },
    )
    card = client.post(
        "/api/v1/assets",
        json={
            "asset_type": "security_card",
            "tag": f"CARD-{employee_id}",
            "card_number": f"7{employee_id[-4:]:0>4}",
            "holder_employee_id": employee_id,
        },
    )
    assert laptop.status_code == card.status_code == 201, (laptop.text, card.text)
    return [laptop.json()["tag"], card.json()["tag"]]


def audit_count(container: Container) -> int:
    with container.uow() as uow:
        return int(
            uow.session.scalar(select(func.count()).select_from(orm.audit_records)) or 0
        )


def case_of(container: Container, employee_id: str) -> dict[str, Any]:
    [case] = container.offboarding.cases.for_person(employee_id)
    return container.offboarding.cases.get(case["id"])
