"""No password is ever kept readable (5.17): after hires (generated initial
passwords), a termination (a scrambled password), self-service changes
(chosen passwords, refused ones too) and the mail the run sends, none of
those passwords appears in a dump of the database (plain or base64), the
logs, the audit trail or the captured e-mails.

Rotations of privileged accounts search the same places with the same
helpers (``tests/support/leaks.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from connectors.base import AccountRef, AccountSpec, Secret
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.app import create_app
from jobs.scheduler import JOBS, run_exclusive
from tests.support.db import TestDatabase
from tests.support.leaks import database_dump, find_leaks
from tests.support.offboarding import give_assets, hire_person, terminate
from tests.support.service import POLICY_GROUPS, build, drain
from tests.support.smtp import SmtpServer

OLD = "Birch-Lantern-58!"
CHOSEN = ["Violet#Harbor-2917", "Quartz!Meadow-6043"]
NEVER_SET = ["Cobalt&Willow-3388", "Sunshine2024!"]  # refused: wrong current, rules


class SpyingDirectory(FakeConnector):
    """The in-memory AD, remembering every password handed to it so the
    test knows what to look for (the service itself forgets them)."""

    def __init__(self) -> None:
        super().__init__(system_id="ad", known_groups=set(POLICY_GROUPS))
        self.seen: list[str] = []
        self._seen_lock = threading.Lock()

    def _remember(self, password: Secret | None) -> None:
        if password is not None:
            with self._seen_lock:
                self.seen.append(password.reveal())

    def create_account(self, spec: AccountSpec, password: Secret | None) -> AccountRef:
        self._remember(password)
        return super().create_account(spec, password)

    def set_password(
        self, ref: AccountRef, password: Secret, *, must_change: bool
    ) -> None:
        self._remember(password)
        super().set_password(ref, password, must_change=must_change)


@pytest.fixture
def directory() -> SpyingDirectory:
    return SpyingDirectory()


@pytest.fixture
def service(
    database: TestDatabase,
    clock: FrozenClock,
    directory: SpyingDirectory,
    smtp_server: SmtpServer,
) -> Iterator[Container]:
    container = build(
        database,
        {"ad": directory},
        clock,
        **smtp_server.service_settings(),
        security_officer_email="security-officer@example.test",
    )
    yield container
    container.close()


def _self_service(c: Container, directory: SpyingDirectory) -> None:
    with c.uow() as uow:
        person = uow.persons.by_employee_id("E8101")
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
    assert account.native_id is not None
    directory.set_password(
        AccountRef(account.native_id, account.username), Secret(OLD), must_change=False
    )
    token = c.auth.create_token("e8101", Role.HR, actor="test", employee_id="E8101")
    with TestClient(
        create_app(c), headers={"Authorization": f"Bearer {token}"}
    ) as client:

        def change(current: str, new: str) -> int:
            body = {"system": "ad", "current_password": current, "new_password": new}
            return client.post("/api/v1/passwords/change", json=body).status_code

        assert change("Not-The-Password-1", NEVER_SET[0]) == 400
        assert change(OLD, NEVER_SET[1]) == 422
        assert change(OLD, CHOSEN[0]) == 202
        drain(c)
        assert change(CHOSEN[0], CHOSEN[1]) == 202
        drain(c)
        for password in (*CHOSEN, *NEVER_SET):
            checked = client.post(
                "/api/v1/passwords/check", json={"password": password}
            )
            assert checked.status_code == 200


def _mail_ticks(c: Container, clock: FrozenClock) -> None:
    clock.advance(timedelta(days=8))
    for job in JOBS:
        if job.name in (
            "escalate_offboarding",
            "deliver_mail",
            "settle_password_changes",
        ):
            assert run_exclusive(c, job)


def test_no_password_is_kept_readable_anywhere(
    service: Container,
    directory: SpyingDirectory,
    database: TestDatabase,
    smtp_server: SmtpServer,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hire_person(service, "E8100", given_name="Hanako", family_name="Head")
    service.departments.set_head(
        "SALES", "E8100", Principal("hr-admin", frozenset({Role.HR}))
    )
    for employee_id in ("E8101", "E8102", "E8103"):
        hire_person(service, employee_id)
    drain(service)
    generated = list(directory.seen)
    assert len(generated) == 4  # one initial password per new account
    _self_service(service, directory)
    token = service.auth.create_token("assets", Role.SYSADMIN, actor="test")
    with TestClient(
        create_app(service), headers={"Authorization": f"Bearer {token}"}
    ) as sysadmin:
        give_assets(sysadmin, "E8103")  # outstanding at termination: mail follows
    terminate(service, "E8103")
    drain(service)  # the leaver's password is scrambled
    _mail_ticks(service, clock)

    secrets = set(directory.seen) | set(NEVER_SET) | {OLD}
    assert len(directory.seen) == len(generated) + 1 + len(CHOSEN) + 1
    assert smtp_server.messages, "the run sends mail"
    with service.uow() as uow:
        audit = "\n".join(
            repr((r.actor, r.action, r.target, r.before, r.after, r.reason))
            for r in uow.audit.iter_all()
        )
    places = {
        "database": database_dump(service.engine, database.schema),
        "logs": caplog.text,
        "audit trail": audit,
        "e-mails": "\n".join(m.message.as_string() for m in smtp_server.messages),
    }
    # The search is not vacuous: the rows that carried the changes are there.
    assert "e8101" in places["database"].lower()
    assert "password-change-" in places["database"]  # the operations' refs
    assert "$argon2id$" in places["database"]  # the history's hashes
    assert "password.self_service_requested" in audit
    assert find_leaks(secrets, places) == []
