"""The SMTP mailer and the mail outbox against a real SMTP server on
loopback (aiosmtpd): plain (loopback only), STARTTLS with AUTH, implicit
TLS; refusals, outages, retries with time travel, and the settings that
refuse clear-text SMTP to another host (8.24)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from iam_service.adapters.mail import SmtpMailer, TemplateRenderer
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.mail import MailEnvelope, MailError, MailStatus, Recipient
from iam_service.domain.security import Role
from iam_service.services.notifications import MailOutbox
from iam_service.settings import Settings
from tests.support.db import TestDatabase
from tests.support.service import build
from tests.support.smtp import SmtpServer, free_port


def _envelope(**overrides: object) -> MailEnvelope:
    values: dict[str, object] = {
        "recipients": ("head.sales@example.test",),
        "subject": "【要対応】テスト件名",
        "body": "本文です。\nBody line two.\n",
        "language": "ja",
        "key": "test:1:ja",
    }
    values.update(overrides)
    return MailEnvelope(**values)  # type: ignore[arg-type]


def test_plain_smtp_to_loopback_delivers_japanese_text(
    smtp_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_server.settings())
    mailer.send(_envelope())
    mailer.send(_envelope(recipients=("other@example.test",)))
    first, second = smtp_server.messages
    assert first.rcpt_tos == ("head.sales@example.test",)
    assert first.mail_from == "iam-service@example.test"
    assert first.subject == "【要対応】テスト件名"
    assert first.body == "本文です。\nBody line two.\n"
    assert first.message["Content-Language"] == "ja"
    assert first.message["Auto-Submitted"] == "auto-generated"
    # The same outbox key gives the same Message-ID: a resend is recognisable.
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert first.message["Message-ID"].endswith("@example.test>")


def test_starttls_with_login_verifies_the_server_certificate(
    smtp_tls_server: SmtpServer,
) -> None:
    SmtpMailer(smtp_tls_server.settings()).send(_envelope())
    [received] = smtp_tls_server.messages
    assert received.subject == "【要対応】テスト件名"


def test_implicit_tls(smtp_ssl_server: SmtpServer) -> None:
    SmtpMailer(smtp_ssl_server.settings()).send(_envelope(language="en"))
    [received] = smtp_ssl_server.messages
    assert received.message["Content-Language"] == "en"


def test_an_unknown_certificate_authority_is_refused_for_good(
    smtp_tls_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_tls_server.settings(ca_file=None))
    with pytest.raises(MailError) as refused:
        mailer.send(_envelope())
    assert not refused.value.retryable
    assert "certificate" in str(refused.value)
    assert smtp_tls_server.messages == []


def test_a_server_without_starttls_is_not_used_in_clear(
    smtp_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_server.settings(security="starttls"))
    with pytest.raises(MailError, match="STARTTLS") as refused:
        mailer.send(_envelope())
    assert not refused.value.retryable
    assert smtp_server.messages == []


def test_a_wrong_password_is_reported_without_the_password(
    smtp_tls_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_tls_server.settings(password="not-the-password-1"))
    with pytest.raises(MailError) as refused:
        mailer.send(_envelope())
    assert "not-the-password-1" not in str(refused.value)
    assert "not-the-password-1" not in repr(mailer.settings)


def test_refusals_are_permanent_or_retryable_by_their_code(
    smtp_server: SmtpServer,
) -> None:
    mailer = SmtpMailer(smtp_server.settings())
    smtp_server.reject_next(550, "5.1.1 no such user")
    with pytest.raises(MailError) as gone:
        mailer.send(_envelope())
    assert not gone.value.retryable and "550" in str(gone.value)
    smtp_server.reject_next(450, "4.2.1 mailbox busy")
    with pytest.raises(MailError) as busy:
        mailer.send(_envelope())
    assert busy.value.retryable


def test_an_unreachable_server_is_retryable(smtp_server: SmtpServer) -> None:
    nobody = free_port()  # a port nobody listens on
    mailer = SmtpMailer(smtp_server.settings(port=nobody, timeout=2.0))
    with pytest.raises(MailError) as down:
        mailer.send(_envelope())
    assert down.value.retryable


def test_clear_text_smtp_to_another_host_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match=r"8\.24"):
        Settings(demo_mode=True, smtp_host="mail.example.test", smtp_security="none")
    Settings(demo_mode=True, smtp_host="127.0.0.1", smtp_security="none")


@pytest.fixture
def mail_service(
    database: TestDatabase, clock: FrozenClock, smtp_server: SmtpServer
) -> Iterator[Container]:
    container = build(
        database,
        {},
        clock,
        **smtp_server.service_settings(),
    )
    yield container
    container.close()


def _queue(c: Container, key: str, *recipients: Recipient) -> None:
    with c.uow() as uow:
        c.mail.queue(
            uow,
            key=key,
            template="offboarding_escalation",
            recipients=recipients,
            context={
                "company": "Example Corp",
                "recipient_name": "",
                "level": "security_officer",
                "case_id": 7,
                "employee_id": "E7",
                "person_name": "Taro Test",
                "department": "Sales",
                "terminated_on": "2026-11-25",
                "age_days": 14,
                "head_days": 7,
                "officer_days": 14,
                "outstanding": [{"kind": "asset_return", "message": "laptop LT-1"}],
                "case_url": "",
            },
        )
        uow.commit()


def test_the_outbox_sends_each_message_once_in_each_recipients_language(
    mail_service: Container, smtp_server: SmtpServer
) -> None:
    _queue(
        mail_service,
        "test:once",
        Recipient("a@example.test", "A", "ja"),
        Recipient("b@example.test", "B", "en"),
    )
    _queue(mail_service, "test:once", Recipient("a@example.test", "A", "ja"))
    assert mail_service.mail.deliver_due() == 2
    assert mail_service.mail.deliver_due() == 0  # nothing twice
    by_language = {m.message["Content-Language"]: m for m in smtp_server.messages}
    assert by_language["ja"].rcpt_tos == ("a@example.test",)
    assert "未完了" in by_language["ja"].subject
    assert by_language["en"].rcpt_tos == ("b@example.test",)
    assert "incomplete" in by_language["en"].subject


def test_a_busy_server_is_retried_after_the_backoff_and_a_refusal_is_noticed(
    mail_service: Container, smtp_server: SmtpServer, clock: FrozenClock
) -> None:
    _queue(mail_service, "test:busy", Recipient("busy@example.test"))
    smtp_server.reject_next(450, "4.2.1 mailbox busy")
    assert mail_service.mail.deliver_due() == 0
    assert mail_service.mail.deliver_due() == 0  # not yet due again
    clock.advance(timedelta(minutes=2))
    assert mail_service.mail.deliver_due() == 1
    [received] = smtp_server.messages
    assert received.rcpt_tos == ("busy@example.test",)

    _queue(mail_service, "test:gone", Recipient("gone@example.test"))
    smtp_server.reject_next(550, "5.1.1 no such user")
    assert mail_service.mail.deliver_due() == 0
    with mail_service.uow() as uow:
        [failed] = uow.mail.list(MailStatus.FAILED)
        assert failed.recipients == ["gone@example.test"] and "550" in (
            failed.last_error or ""
        )
        notices = [
            n for n in uow.notices.open(Role.SYSADMIN) if n.kind == "mail_failed"
        ]
        assert len(notices) == 1 and "gone@example.test" in notices[0].detail


def test_a_context_carrying_a_secret_is_refused(mail_service: Container) -> None:
    outbox = MailOutbox(mail_service.uow, TemplateRenderer(), None)
    with mail_service.uow() as uow, pytest.raises(ValueError, match="secret"):
        outbox.queue(
            uow,
            key="x",
            template="offboarding_escalation",
            recipients=[Recipient("a@example.test")],
            context={"initial_password": "Secret-123"},
        )
