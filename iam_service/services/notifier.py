"""The hook through which a use case tells people what needs them now.

``Notifier`` is called inside the unit of work of the change it reports, so
an implementation that writes (the e-mail outbox of
``services/notifications.py``, say) writes in that same transaction, once,
under ``Notification.key``. The durable record is always the ``Notice`` and
the audit record the use case writes itself; a notifier only reaches people
sooner. ``LoggingNotifier`` (the default until an organisation wires mail)
logs a warning, which is at least once per escalation.

Nothing secret goes in a notification (5.17).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from iam_service.domain.security import Role
from iam_service.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """``key`` is unique per message (an escalation number, say): sending
    the same key twice is one message."""

    key: str
    kind: str
    audience: Role
    subject: str  # what it is about: ``elevation:12``
    title: str
    detail: str


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
