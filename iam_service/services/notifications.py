"""E-mail notifications: the ``Mailer`` contract, the outbox and recipients.

Use cases never talk SMTP. They call ``MailOutbox.queue`` inside their unit
of work: the message is rendered from a template in each recipient's
language and written to ``mail_outbox`` in the same transaction as the
change it reports, under an idempotency key, so it is written exactly once.
The ``deliver_mail`` job sends what is due through a ``Mailer``
(``adapters/mail.py``: SMTP), retries transient failures with backoff and
parks refused messages as ``failed`` with a notice. Delivery is at least
once: a crash between the SMTP answer and the commit sends that message
again.

Contract for messages: nothing secret goes in (5.17). ``queue`` refuses a
template context with a key that looks like a secret.

Other use cases reuse this: pick a template name, add
``<name>.ja.txt`` and ``<name>.en.txt`` under
``iam_service/adapters/mail_templates/``, and call ``queue``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from iam_service.domain.audit import redact
from iam_service.domain.mail import (
    LANGUAGES,
    MailEnvelope,
    MailError,
    MailStatus,
    OutgoingMail,
    Recipient,
)
from iam_service.domain.model import Person, PersonStatus
from iam_service.domain.operations import Backoff
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


class Mailer(Protocol):
    """Sends one message now, or raises ``MailError``."""

    def send(self, envelope: MailEnvelope) -> None: ...


class Renderer(Protocol):
    """Renders ``template`` in ``language`` to ``(subject, body)``."""

    def render(
        self, template: str, language: str, context: Mapping[str, Any]
    ) -> tuple[str, str]: ...


class RecipientDirectory:
    """People and roles as addresses, each in their language.

    ``language_of(employee_id)`` is the hook for a person's own language (a
    console preference, say); without one the organisation's applies."""

    def __init__(
        self,
        default_language: str,
        security_officer: Sequence[str] = (),
        language_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.default_language = default_language
        self.security_officer_addresses = tuple(a for a in security_officer if a)
        self.language_of = language_of or (lambda _employee_id: None)

    def person(self, person: Person) -> Recipient:
        wanted = self.language_of(person.employee_id) or self.default_language
        return Recipient(
            address=person.email,
            name=person.display_name,
            language=wanted if wanted in LANGUAGES else self.default_language,
        )

    def department_head(self, uow: UnitOfWork, code: str) -> Recipient | None:
        """The head of department ``code`` if one is set and still active."""
        department = uow.departments.get(code)
        if department is None or not department.head_employee_id:
            return None
        head = uow.persons.by_employee_id(department.head_employee_id)
        if head is None or head.status is PersonStatus.TERMINATED or not head.email:
            return None
        return self.person(head)

    def security_officers(self) -> list[Recipient]:
        return [
            Recipient(address=a, name="", language=self.default_language)
            for a in self.security_officer_addresses
        ]


class MailOutbox:
    """Queues rendered messages in a unit of work and delivers them later."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        renderer: Renderer,
        mailer: Mailer | None,
        *,
        max_attempts: int = 8,
        backoff: Backoff | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.renderer = renderer
        self.mailer = mailer
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(base_seconds=60, cap_seconds=3600)
        self._rng = random.Random()  # noqa: S311 - jitter only

    def queue(
        self,
        uow: UnitOfWork,
        *,
        key: str,
        template: str,
        recipients: Iterable[Recipient],
        context: Mapping[str, Any],
        subject_ref: str = "",
    ) -> list[OutgoingMail]:
        """Render and write one message per language among ``recipients``
        (key ``<key>:<language>``); a key queued before is not queued again.
        Returns the messages (new or earlier)."""
        if redact(context) != dict(context):
            raise ValueError("a mail template context must not carry secrets")
        by_language: dict[str, list[str]] = {}
        for r in recipients:
            addresses = by_language.setdefault(r.language, [])
            if r.address.lower() not in (a.lower() for a in addresses):
                addresses.append(r.address)
        queued = []
        for language, addresses in sorted(by_language.items()):
            full_key = f"{key}:{language}"
            existing = uow.mail.by_key(full_key)
            if existing is not None:
                queued.append(existing)
                continue
            subject, body = self.renderer.render(template, language, context)
            now = uow.clock.now()
            message = OutgoingMail(
                key=full_key,
                template=template,
                language=language,
                recipients=addresses,
                subject=subject,
                body=body,
                created_at=now,
                next_attempt_at=now,
                subject_ref=subject_ref,
            )
            uow.mail.add(message)
            queued.append(message)
        return queued

    def deliver_due(self, limit: int = 100) -> int:
        """Send what is due, one message per transaction; returns how many
        were sent. Without a mailer (no SMTP host) nothing is sent."""
        if self.mailer is None:
            return 0
        sent = 0
        for _ in range(limit):
            with self.uow_factory() as uow:
                due = uow.mail.due(uow.clock.now(), limit=1)
                if not due:
                    return sent
                sent += self._deliver(uow, due[0])
                uow.commit()
        return sent

    def _deliver(self, uow: UnitOfWork, message: OutgoingMail) -> int:
        assert self.mailer is not None  # noqa: S101 - checked by the caller
        now = uow.clock.now()
        message.attempts += 1
        try:
            self.mailer.send(
                MailEnvelope(
                    recipients=tuple(message.recipients),
                    subject=message.subject,
                    body=message.body,
                    language=message.language,
                    key=message.key,
                    headers=dict(message.headers),
                )
            )
        except MailError as error:
            self._failed(uow, message, error)
            return 0
        message.status, message.sent_at, message.last_error = (
            MailStatus.SENT,
            now,
            None,
        )
        uow.record(
            "mailer",
            "mail.sent",
            message.subject_ref or f"mail:{message.id}",
            after={
                "mail": message.id,
                "template": message.template,
                "recipients": list(message.recipients),
            },
        )
        return 1

    def _failed(self, uow: UnitOfWork, message: OutgoingMail, error: MailError) -> None:
        now = uow.clock.now()
        message.last_error = str(error)[:2000]
        log.warning("mail %s not sent: %s", message.key, error)
        if error.retryable and message.attempts < self.max_attempts:
            delay = self.backoff.delay(message.attempts, self._rng)
            message.next_attempt_at = now + delay
            return
        message.status = MailStatus.FAILED
        uow.notices.add(
            Notice(
                kind="mail_failed",
                subject=message.subject_ref or f"mail:{message.id}",
                detail=(
                    f"The e-mail {message.subject!r} to "
                    f"{', '.join(message.recipients)} could not be sent after "
                    f"{message.attempts} attempt(s): {message.last_error}"
                ),
                audience=Role.SYSADMIN,
                created_at=now,
            )
        )
        uow.record(
            "mailer",
            "mail.failed",
            message.subject_ref or f"mail:{message.id}",
            after={"mail": message.id, "error": message.last_error},
        )
