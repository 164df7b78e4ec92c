"""The security officer hears of privileged elevations by e-mail (8.2, 8.18):
a break-glass use and each of its escalations reach a real SMTP server on
loopback (aiosmtpd) once, in the organisation's language, naming the person,
the entitlement and the reason; a mail that cannot be written never holds
up the emergency."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.services.notifications import MailOutbox
from iam_service.services.notifier import MailNotifier
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import hire_all, person_client, staff
from tests.support.db import TestDatabase
from tests.support.service import build, drain
from tests.support.smtp import CapturedMail, SmtpServer

pytestmark = pytest.mark.slow
OFFICER = "security-officer@example.test"
ADMINS = "ad:Domain Admins"
REASON = "DC outage INC-4711, officer on a flight"


def _service(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
    **overrides: Any,
) -> Container:
    """The service mailing through the loopback SMTP server, with a system
    administrator (E300) and a security officer (E400) hired."""
    c = build(
        database,
        {"ad": fake_ad},
        clock,
        **smtp_server.service_settings(),
        security_officer_email=OFFICER,
        console_base_url="https://iam.example.test",
        **overrides,
    )
    hire_all(
        c,
        staff("E300", "IT", "System Administrator"),
        staff("E400", "GA", "Security Officer"),
    )
    drain(c)  # their AD accounts exist
    return c


@pytest.fixture
def container(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> Iterator[Container]:
    c = _service(database, clock, fake_ad, smtp_server)
    yield c
    c.close()


@pytest.fixture
def sysadmin(container: Container) -> Iterator[TestClient]:
    client = person_client(container, Role.SYSADMIN, "E300")
    yield client
    client.close()


def _job(container: Container, name: str) -> None:
    assert run_exclusive(container, next(j for j in JOBS if j.name == name))


def _to_officer(server: SmtpServer) -> list[CapturedMail]:
    return [m for m in server.messages if OFFICER in m.rcpt_tos]


def _break_glass(client: TestClient) -> int:
    taken = client.post(
        "/api/v1/elevations/break-glass",
        json={"entitlement": ADMINS, "hours": 2, "reason": REASON},
    )
    assert taken.status_code == 201, taken.text
    return int(taken.json()["id"])


def test_break_glass_and_its_escalation_each_mail_the_officer_once(
    container: Container,
    sysadmin: TestClient,
    smtp_server: SmtpServer,
    clock: FrozenClock,
) -> None:
    eid = _break_glass(sysadmin)
    _job(container, "deliver_mail")
    [taken] = _to_officer(smtp_server)
    assert taken.rcpt_tos == (OFFICER,)
    assert taken.message["Content-Language"] == "ja"
    assert taken.subject.startswith("【緊急利用】")
    assert "Test PersonE300（E300）" in taken.subject
    assert "ドメイン管理者" in taken.subject
    body = taken.body
    assert "管理責任者 各位" in body
    assert "ドメイン管理者（ad:Domain Admins）" in body
    assert f"理由: {REASON}" in body
    assert "2 時間（2026-11-25 11:30 JST まで）" in body
    assert f"https://iam.example.test/api/v1/elevations/{eid}/ratify" in body
    assert "規程 8.2" in body and "8.18" in body
    assert "password" not in body.lower()

    _job(container, "deliver_mail")
    assert len(_to_officer(smtp_server)) == 1  # sent once

    clock.advance(timedelta(minutes=61))  # past ratify_within_minutes
    for _ in range(2):
        _job(container, "escalate_break_glass")
        _job(container, "deliver_mail")
    first, escalated = _to_officer(smtp_server)
    assert escalated.subject.startswith("【エスカレーション 1回目】")
    assert f"緊急利用 #{eid}" in escalated.subject
    assert escalated.message["Message-ID"] != first.message["Message-ID"]
    assert "まだ事後承認されていません" in escalated.body
    assert "権限はまだ有効です" in escalated.body
    assert REASON in escalated.body

    for _ in range(2):  # nothing new is due: nothing more is sent
        _job(container, "escalate_break_glass")
        _job(container, "deliver_mail")
    assert len(_to_officer(smtp_server)) == 2
    with container.uow() as uow:
        trail = [r.action for r in uow.audit.for_target(f"elevation:{eid}")]
    assert trail.count("mail.sent") == 2


def test_a_request_is_mailed_in_the_organisations_language(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> None:
    english = _service(database, clock, fake_ad, smtp_server, console_language="en")
    client = person_client(english, Role.SYSADMIN, "E300")
    try:
        asked = client.post(
            "/api/v1/elevations",
            json={"entitlement": ADMINS, "hours": 4, "reason": "patch CHG-1234"},
        )
        assert asked.status_code == 201, asked.text
        _job(english, "deliver_mail")
    finally:
        client.close()
        english.close()
    [mail] = _to_officer(smtp_server)
    assert mail.message["Content-Language"] == "en"
    assert mail.subject == (
        "[Approval needed] Privileged elevation: Test PersonE300 (E300) asks "
        "for Domain administrators for 4 h"
    )
    assert "Reason: patch CHG-1234" in mail.body
    assert "/approve" in mail.body and "regulation 8.2" in mail.body


class _BrokenRenderer:
    """A template that cannot be rendered (a typo in a deployment)."""

    def render(
        self, template: str, language: str, context: Mapping[str, Any]
    ) -> tuple[str, str]:
        raise ValueError(f"{template}.{language}.txt: 'hours' is undefined")


def test_a_mail_that_cannot_be_written_never_holds_up_break_glass(
    container: Container,
    sysadmin: TestClient,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> None:
    container.elevations.notifier = MailNotifier(
        MailOutbox(container.uow, _BrokenRenderer(), None),
        container.recipients,
        company="Example Corp",
    )
    eid = _break_glass(sysadmin)
    drain(container)
    state = fake_ad.find_account(employee_id="E300")
    assert state is not None and "Domain Admins" in state.groups
    with container.uow() as uow:
        assert uow.mail.about(f"elevation:{eid}") == []
        notices = [
            (n.audience, n.kind)
            for n in uow.notices.open()
            if n.subject == f"elevation:{eid}"
        ]
    assert sorted(notices) == [
        (Role.SECURITY_OFFICER, "elevation_break_glass"),
        (Role.SYSADMIN, "mail_failed"),
    ]
    _job(container, "deliver_mail")
    assert _to_officer(smtp_server) == []
