"""The mail outbox table and its repository (never committing).

Messages are written in the transaction that caused them and sent by the
``deliver_mail`` job (``services/notifications.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Table, Text, func, select
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.mail import MailStatus, OutgoingMail

mail_outbox = Table(
    "mail_outbox",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(300), nullable=False, unique=True),
    Column("template", String(100), nullable=False),
    Column("language", String(8), nullable=False),
    Column("recipients", orm.Json, nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", orm.Json, nullable=False),
    Column("subject_ref", String(300), nullable=False, default=""),
    Column("status", orm._enum(MailStatus), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", orm.UtcDateTime),
    Column("last_error", Text),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("sent_at", orm.UtcDateTime),
    Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),
)

orm.register(OutgoingMail, mail_outbox)


class MailRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, message: OutgoingMail) -> None:
        self.session.add(message)

    def get(self, message_id: int) -> OutgoingMail | None:
        return self.session.get(OutgoingMail, message_id)

    def by_key(self, key: str) -> OutgoingMail | None:
        query = select(OutgoingMail).where(mail_outbox.c.key == key)
        return self.session.scalars(query).one_or_none()

    def due(self, now: datetime, limit: int = 50) -> Sequence[OutgoingMail]:
        t = mail_outbox
        query = select(OutgoingMail).where(
            t.c.status == MailStatus.PENDING, t.c.next_attempt_at <= now
        )
        if self.session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self.session.scalars(query.order_by(t.c.id).limit(limit)).all()

    def about(self, subject_ref: str) -> Sequence[OutgoingMail]:
        t = mail_outbox
        query = select(OutgoingMail).where(t.c.subject_ref == subject_ref)
        return self.session.scalars(query.order_by(t.c.id)).all()

    def list(
        self, status: MailStatus | None = None, limit: int = 100
    ) -> Sequence[OutgoingMail]:
        t = mail_outbox
        query = select(OutgoingMail)
        if status is not None:
            query = query.where(t.c.status == status)
        return self.session.scalars(query.order_by(t.c.id.desc()).limit(limit)).all()

    def counts_by_status(self) -> dict[str, int]:
        t = mail_outbox
        rows = self.session.execute(
            select(t.c.status, func.count()).group_by(t.c.status)
        )
        return {str(status): int(count) for status, count in rows}
