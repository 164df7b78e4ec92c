"""The hook through which a use case tells people what needs them now.

``Notifier`` is called inside the unit of work of the change it reports, so
an implementation that writes writes in that same transaction, once, under
``Notification.key``. The durable record is always the ``Notice`` and the
audit record the use case writes itself; a notifier only reaches people
sooner.

``MailNotifier`` (wired by ``bootstrap.py``) queues an e-mail in the outbox
of ``services/notifications.py`` for the audience's addresses, each in their
language, and logs; the ``deliver_mail`` job sends it. ``LoggingNotifier``
only logs a warning (no mail server needed).

Nothing secret goes in a notification (5.17): the outbox refuses a template
context with a key that looks like a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from iam_service.domain.mail import Recipient
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """``key`` is unique per message (an escalation number, say): sending
    the same key twice is one message. ``title`` and ``detail`` are the
    English text of the log and the notice; ``template`` names the mail
    template (``adapters/mail_templates/<template>.<language>.txt``) and
    ``context`` is its data. Without a template there is nothing to mail."""

    key: str
    kind: str
    audience: Role
    subject: str  # what it is about: ``elevation:12``
    title: str
    detail: str
    template: str | None = None
    context: Mapping[str, object] = field(default_factory=dict)


class Notifier(Protocol):
    def notify(self, uow: UnitOfWork, notification: Notification) -> None:
        """Reach ``notification.audience``; write, if at all, through ``uow``."""
        ...


class LoggingNotifier:
    """Logs each notification at WARNING (no mail server needed)."""

    def notify(self, uow: UnitOfWork, notification: Notification) -> None:  # noqa: ARG002 - Protocol
        log.warning(
            "notify %s [%s] %s: %s (%s)",
            notification.audience,
            notification.kind,
            notification.title,
            notification.detail,
            notification.key,
        )


class MailNotifier:
    """Queues one e-mail per language for the audience's addresses, in the
    unit of work of the change (idempotent under ``Notification.key``), and
    logs as ``LoggingNotifier`` does. An audience with no known address
    (the security officer without ``IAM_SECURITY_OFFICER_EMAIL``, a role
    the directory has no addresses for) and a notification without a
    template are only logged. A message that cannot be rendered never
    holds up the change it reports: it is logged and the system
    administrators get a ``mail_failed`` notice.

    ``company`` and ``base_url`` (the service's public URL, "" if unknown)
    are added to every template context."""

    def __init__(
        self,
        outbox: MailOutbox,
        directory: RecipientDirectory,
        *,
        company: str,
        base_url: str | None = None,
    ) -> None:
        self.outbox = outbox
        self.directory = directory
        self.company = company
        self.base_url = (base_url or "").rstrip("/")
        self._log = LoggingNotifier()

    def notify(self, uow: UnitOfWork, notification: Notification) -> None:
        self._log.notify(uow, notification)
        recipients = self._recipients(notification.audience)
        if notification.template is None or not recipients:
            return
        context = {
            **notification.context,
            "company": self.company,
            "base_url": self.base_url,
        }
        try:
            self.outbox.queue(
                uow,
                key=notification.key,
                template=notification.template,
                recipients=recipients,
                context=context,
                subject_ref=notification.subject,
            )
        except SQLAlchemyError:
            raise  # the store itself failed: so does the change
        except Exception as error:  # mail never holds up the change it reports
            # A break-glass use must go through even if its mail cannot be
            # rendered; the officer's notice is written, the admins are told.
            log.exception("mail %s not queued", notification.key)
            uow.notices.add(
                Notice(
                    kind="mail_failed",
                    subject=notification.subject,
                    detail=(
                        f"The e-mail {notification.title!r} to "
                        f"{', '.join(r.address for r in recipients)} could not "
                        f"be written: {error}"
                    ),
                    audience=Role.SYSADMIN,
                    created_at=uow.clock.now(),
                )
            )

    def _recipients(self, audience: Role) -> list[Recipient]:
        if audience is Role.SECURITY_OFFICER:
            return self.directory.security_officers()
        return []
