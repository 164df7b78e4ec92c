"""Reminders and escalations of an access review reach a real SMTP server on
loopback (aiosmtpd), each step once, in the organisation's language; a
reviewer who signed off hears no more (5.18)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.reviews import ItemDecision
from jobs.scheduler import JOBS, run_exclusive
from tests.support.db import TestDatabase
from tests.support.reviews import ReviewOrg, head
from tests.support.service import build
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.slow
OFFICER = "security-officer@example.test"


@pytest.fixture
def container(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    smtp_server: SmtpServer,
) -> Iterator[Container]:
    """The service mailing through the loopback SMTP server."""
    c = build(
        database,
        {"ad": fake_ad},
        clock,
        **smtp_server.service_settings(),
        security_officer_email=OFFICER,
        console_base_url="https://iam.example.test",
    )
    yield c
    c.close()


def _tick(container: Container) -> None:
    for name in ("review_reminders", "deliver_mail"):
        job = next(j for j in JOBS if j.name == name)
        assert run_exclusive(container, job)


def _to(server: SmtpServer, address: str) -> list[str]:
    return [m.subject for m in server.messages if address in m.rcpt_tos]


def test_reminders_then_escalations_each_once_per_step(
    review_org: ReviewOrg, smtp_server: SmtpServer
) -> None:
    container, clock = review_org.container, review_org.clock
    campaign = review_org.start()
    with container.uow() as uow:
        found = uow.campaigns.get(campaign)
        assert found is not None
        due = found.due_at
    _tick(container)
    assert smtp_server.messages == []  # nothing is due on the first day

    clock.set(due - timedelta(days=7) + timedelta(hours=1))
    _tick(container)
    reminded = _to(smtp_server, "s100@example.test")
    assert len(reminded) == 1 and "リマインド" in reminded[0]
    mail = next(m for m in smtp_server.messages if "s100@example.test" in m.rcpt_tos)
    assert "四半期アクセスレビュー" in mail.body
    assert "https://iam.example.test/console/reviews/" in mail.body
    assert "password" not in mail.body.lower()
    assert _to(smtp_server, OFFICER), "the officer's own review is reminded too"
    _tick(container)
    assert len(_to(smtp_server, "s100@example.test")) == 1  # once per step

    sales = review_org.review_of(campaign, "S100").id or 0
    reviews = container.access_reviews
    reviews.decisions.bulk_keep(sales, head("S100"))
    with container.uow() as uow:
        undecided = uow.review_items.in_review(sales, undecided=True)
        open_ids = [i.id or 0 for i in undecided]
    reviews.decisions.decide(sales, open_ids, ItemDecision.KEEP, "", head("S100"))
    reviews.decisions.sign_off(sales, head("S100"))

    clock.set(due + timedelta(hours=1))
    smtp_server.clear()
    _tick(container)
    assert _to(smtp_server, "s100@example.test") == []  # signed off: left alone
    escalations = [m for m in smtp_server.messages if "期限超過" in m.subject]
    assert escalations
    fin = next(m for m in escalations if "（FIN）" in m.subject)
    assert OFFICER in fin.rcpt_tos and "g300@example.test" in fin.rcpt_tos
    assert "F200" in fin.body
    _tick(container)
    again = [m for m in smtp_server.messages if "期限超過" in m.subject]
    assert len(again) == len(escalations)


def test_a_close_keeping_undecided_items_escalates_to_the_officer_once(
    review_org: ReviewOrg, smtp_server: SmtpServer
) -> None:
    container = review_org.container
    campaign = review_org.start()
    container.access_reviews.closer.close(campaign, "test:security-officer")
    smtp_server.clear()
    _tick(container)
    closed = [m for m in smtp_server.messages if "エスカレーション" in m.subject]
    assert len(closed) == 1 and closed[0].rcpt_tos == (OFFICER,)
    assert "PersonS100 (S100)" in closed[0].body.replace("Test ", "")
    _tick(container)
    assert (
        len([m for m in smtp_server.messages if "エスカレーション" in m.subject]) == 1
    )
