"""Helpers for the privileged-account tests: people, admin accounts in a
fake or real directory, a manual system in the register, a policy marking
a test group privileged. Dummy data only (8.33)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import yaml

from connectors.base import AccountRef, AccountSpec, Secret
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.console import SessionKind, SessionLimits
from iam_service.domain.hr import HrEvent
from iam_service.domain.model import Classification
from iam_service.domain.register import SystemRegistration
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.console_sessions import Client, SignedIn, open_session
from iam_service.services.unit_of_work import UnitOfWork
from iam_service.settings import REPO_ROOT
from tests.support.service import ALL_MET, TEST_APPROVER, TEST_REQUESTER, event, hire

OFFICER = Principal(
    "officer", frozenset({Role.SECURITY_OFFICER}), employee_id="E0900", kind="test"
)
SYSADMIN = Principal(
    "sysadmin", frozenset({Role.SYSADMIN}), employee_id="E0901", kind="test"
)


def person(
    container: Container,
    employee_id: str,
    department: str = "IT",
    title: str = "Engineer",
) -> None:
    body = hire(employee_id, department, title)
    container.hr_intake.submit(HrEvent.model_validate(body), actor="test")


def terminate(container: Container, employee_id: str) -> None:
    body = event("terminate", employee_id, f"leave-{employee_id}")
    container.hr_intake.submit(HrEvent.model_validate(body), actor="test")


def move(container: Container, employee_id: str, department: str, title: str) -> None:
    body = event(
        "update",
        employee_id,
        f"move-{employee_id}-{department}",
        department=department,
        title=title,
    )
    container.hr_intake.submit(HrEvent.model_validate(body), actor="test")


def recipient(employee_id: str) -> Principal:
    """A signed-in person with no console role (a successor)."""
    return Principal(employee_id.lower(), frozenset(), employee_id=employee_id)


def admin_account(
    fake: FakeConnector, username: str, password: str, group: str = "Domain Admins"
) -> AccountRef:
    """An enabled admin account in the fake directory, with a known password."""
    fake.known_groups.add(group)
    ref = fake.create_account(
        AccountSpec(
            username, f"X-{username}", "Admin", username, f"{username}@example.test"
        ),
        Secret(password),
    )
    fake.set_password(ref, Secret(password), must_change=False)
    fake.set_enabled(ref, True)
    fake.add_to_group(ref, group)
    return ref


def manual_system(container: Container, key: str = "fileserver") -> str:
    """A system with no API, registered and approved in the register (5.23)."""
    container.register.register(
        SystemRegistration(
            key=key,
            name="File server fs01",
            kind="manual",
            classification=Classification.INTERNAL,
            purpose="shared folders",
            owner="IT",
            information="dummy files (8.33)",
            criteria=ALL_MET,
        ),
        TEST_REQUESTER,
    )
    container.register.approve(key, TEST_APPROVER, "approved for the test")
    return key


def policy_marking_privileged(directory: Path, groups: list[str]) -> Path:
    """The shipped policy, with ``groups`` (AD) in the catalogue as privileged."""
    shutil.copytree(REPO_ROOT / "policies", directory)
    path = directory / "catalogue.yaml"
    catalogue = yaml.safe_load(path.read_text(encoding="utf-8"))
    for group in groups:
        catalogue["entitlements"].append(
            {
                "ref": f"ad:{group}",
                "name": f"Test admins {group}",
                "privileged": True,
                "classification": "strictly_confidential",
                "requestable": False,
            }
        )
    path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return directory


def signed_in_now(uow: UnitOfWork, employee_id: str) -> int:
    """A console session opened now (a fresh sign-in) for ``employee_id``;
    commits. Returns its id, as ``ConsoleUser.session_id`` has it."""
    open_session(
        uow,
        SignedIn(SessionKind.SSO, employee_id, employee_id, employee_id=employee_id),
        Client("127.0.0.1"),
        SessionLimits(timedelta(minutes=30), timedelta(hours=10)),
    )
    uow.commit()
    live = uow.console_sessions.live_for_employee(employee_id)
    return max(s.id or 0 for s in live)
