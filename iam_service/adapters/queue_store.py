"""The SQL of the durable operation queue: claim, lease and reap.

PostgreSQL claims with ``FOR UPDATE SKIP LOCKED`` so that many workers can
share one queue without blocking each other (procrastinate's design);
SQLite serialises writers with ``BEGIN IMMEDIATE`` instead. An operation is
claimable only when no earlier unfinished operation shares its
``account_key``: work on one account runs one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.domain.operations import UNFINISHED, Operation, OperationStatus

NOTIFY_CHANNEL = "iam_operations"


def claim_next(
    session: Session,
    *,
    worker_id: str,
    now: datetime,
    lease: timedelta,
    systems: Collection[str] | None = None,
) -> Operation | None:
    """Lease the next runnable operation to ``worker_id``, or return None."""
    t = orm.operations_table
    earlier = t.alias("earlier")
    blocked = exists().where(
        earlier.c.account_key == t.c.account_key,
        earlier.c.status.in_(UNFINISHED),
        earlier.c.id < t.c.id,
    )
    query = (
        select(t.c.id)
        .where(
            t.c.status == OperationStatus.PENDING, t.c.next_attempt_at <= now, ~blocked
        )
        .order_by(t.c.priority, t.c.id)
        .limit(1)
    )
    if systems is not None:
        query = query.where(t.c.system_key.in_(systems))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=t)
    op_id = session.scalar(query)
    if op_id is None:
        return None
    operation = session.get(Operation, op_id)
    assert operation is not None  # noqa: S101 - locked just above
    operation.status = OperationStatus.RUNNING
    operation.locked_by = worker_id
    operation.lease_expires_at = now + lease
    operation.attempts += 1
    operation.updated_at = now
    return operation


def reap_expired_leases(session: Session, now: datetime) -> int:
    """Return operations whose worker died (lease expired) to the queue.

    The connector calls are idempotent, so running one again is safe.
    """
    t = orm.operations_table
    result = session.execute(
        update(t)
        .where(t.c.status == OperationStatus.RUNNING, t.c.lease_expires_at < now)
        .values(
            status=OperationStatus.PENDING,
            locked_by=None,
            lease_expires_at=None,
            next_attempt_at=now,
            last_error="the worker stopped before finishing; retried",
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def notify(session: Session) -> None:
    """Wake listening workers once this transaction commits (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL}
        )
