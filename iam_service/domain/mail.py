"""Outgoing e-mail as the service keeps it: rendered once, queued in the
same transaction as the change that caused it, sent by a job (an outbox,
like the operation queue), so a message is neither lost on a crash nor sent
again on every tick. Messages never carry a secret (5.17)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

LANGUAGES = ("ja", "en")


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts; a human looks


@dataclass(frozen=True)
class Recipient:
    """Someone to write to, in their language (``ja`` or ``en``)."""

    address: str
    name: str = ""
    language: str = "ja"


@dataclass(eq=False)
class OutgoingMail:
    """One message to one or more recipients who share its language.

    ``key`` makes queueing idempotent: the same key again is the same
    message (an escalation is mailed once, whatever the scheduler does)."""

    key: str
    template: str
    language: str
    recipients: list[str]
    subject: str
    body: str
    created_at: datetime
    subject_ref: str = ""  # what it is about, e.g. offboarding_case:12
    status: MailStatus = MailStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class MailEnvelope:
    """What a ``Mailer`` sends: plain text, UTF-8."""

    recipients: tuple[str, ...]
    subject: str
    body: str
    language: str
    key: str  # the outbox key: stable, used for the Message-ID
    headers: Mapping[str, str] = field(default_factory=dict)


class MailError(Exception):
    """Sending failed. ``retryable``: the server or network may accept it
    later (4xx, timeouts); otherwise it was refused for good (5xx)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable
