"""Outstanding offboarding items escalate by e-mail, received by a real SMTP
server on loopback (aiosmtpd): to the department head after N days, to the
security officer after M, each once, in the recipient's language."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from jobs.scheduler import JOBS, run_exclusive
from tests.support.db import TestDatabase
from tests.support.offboarding import Clients, give_assets, hire_person, terminate
from tests.support.service import build, drain
from tests.support.smtp import SmtpServer

OFFICER = "isms-officer@example.test"


@pytest.fixture
def service(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> Iterator[Container]:
    container = build(
        database,
        {"ad": fake_ad},
        clock,
        **smtp_server.service_settings(),
        security_officer_email=OFFICER,
    )
    yield container
    container.close()


def _tick(c: Container) -> None:
    """The scheduler's two jobs, as it fires them (under its job lock)."""
    for job in JOBS:
        if job.name in ("escalate_offboarding", "deliver_mail"):
            assert run_exclusive(c, job)


def _leaver_with_head(c: Container, department: str = "SALES") -> list[str]:
    hire_person(c, "E200", department, given_name="Hanako", family_name="Head")
    c.departments.set_head(
        department, "E200", Principal("hr-admin", frozenset({Role.HR}))
    )
    hire_person(c, "E201", department, given_name="Jiro", family_name="Leaver")
    drain(c)
    clients = Clients(c)
    tags = give_assets(clients(Role.SYSADMIN), "E201")
    clients.close()
    terminate(c, "E201")
    drain(c)
    return tags


def test_the_head_then_the_security_officer_each_get_one_mail(
    service: Container, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    laptop, card = _leaver_with_head(service)
    clock.advance(timedelta(days=6, hours=23))
    _tick(service)
    assert smtp_server.messages == []

    clock.advance(timedelta(hours=1))  # 7 days: the department head
    _tick(service)
    [to_head] = smtp_server.messages
    assert to_head.rcpt_tos == ("e200@example.test",)
    assert to_head.message["To"] == "e200@example.test"
    assert "Jiro Leaver" in to_head.subject and "7日経過" in to_head.subject
    assert to_head.message["Content-Language"] == "ja"
    body = to_head.body
    assert body.startswith("Hanako Head 様")
    assert f"資産の返却: ノートPC {laptop}（ThinkPad X1）" in body
    assert f"セキュリティカードの無効化: カード 7E201（{card}）を入退室管理" in body
    assert "部門責任者として" in body and "5.11" in body

    for _ in range(3):  # later ticks send nothing again
        clock.advance(timedelta(days=1))
        _tick(service)
    assert len(smtp_server.messages) == 1

    clock.advance(timedelta(days=4))  # 14 days: the security officer
    _tick(service)
    _tick(service)
    assert len(smtp_server.messages) == 2
    to_officer = smtp_server.messages[1]
    assert to_officer.rcpt_tos == (OFFICER,)
    assert "14日経過" in to_officer.subject
    assert "管理責任者へエスカレーション" in to_officer.body
    [case] = service.offboarding.cases.for_person("E201")
    escalations = service.offboarding.cases.get(case["id"])["escalations"]
    assert [(e["level"], e["recipients"]) for e in escalations] == [
        (1, ["e200@example.test"]),
        (2, [OFFICER]),
    ]


def test_mail_is_written_in_the_recipients_language(
    service: Container, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    service.recipients.language_of = {"E200": "en"}.get  # the head reads English
    _leaver_with_head(service)
    clock.advance(timedelta(days=7))
    _tick(service)
    [to_head] = smtp_server.messages
    assert to_head.message["Content-Language"] == "en"
    assert to_head.subject == (
        "[Action needed] Offboarding of Jiro Leaver (E201) incomplete after 7 days"
    )
    assert to_head.body.startswith("Dear Hanako Head,")
    assert "As the head of department" in to_head.body


def test_a_department_without_a_head_goes_to_the_security_officer(
    service: Container, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    hire_person(service, "E202", "ENG", given_name="Saburo", family_name="Nohead")
    drain(service)
    clients = Clients(service)
    give_assets(clients(Role.SYSADMIN), "E202")
    clients.close()
    terminate(service, "E202")
    clock.advance(timedelta(days=7))
    _tick(service)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == (OFFICER,)
    [case] = service.offboarding.cases.for_person("E202")
    [escalation] = service.offboarding.cases.get(case["id"])["escalations"]
    assert "no active head" in escalation["note"]


def test_nothing_is_mailed_for_a_case_with_nothing_outstanding(
    service: Container, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    hire_person(service, "E203")
    drain(service)
    terminate(service, "E203")  # no assets
    drain(service)
    clock.advance(timedelta(days=30))
    _tick(service)
    assert smtp_server.messages == []
