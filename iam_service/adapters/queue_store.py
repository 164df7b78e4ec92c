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
    exclude: Collection[str] = (),
    chain: int = 1,
) -> list[Operation]:
    """Lease the next runnable operation to ``worker_id`` and, with
    ``chain`` > 1, the operations queued right behind it on the same account
    (a leaver's steps, say), so that one claim serves them all in order.
    Returns an empty list when nothing is runnable."""
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
    if exclude:
        query = query.where(t.c.system_key.not_in(exclude))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update(skip_locked=True, of=t)
    op_id = session.scalar(query)
    if op_id is None:
        return []
    head = session.get(Operation, op_id)
    assert head is not None  # noqa: S101 - locked just above
    claimed = [head]
    if chain > 1:
        claimed += _successors(session, head, now, chain - 1, postgres=postgres)
    for operation in claimed:
        operation.status = OperationStatus.RUNNING
        operation.locked_by = worker_id
        operation.lease_expires_at = now + lease
        operation.attempts += 1
        operation.updated_at = now
    return claimed


def _successors(
    session: Session, head: Operation, now: datetime, limit: int, *, postgres: bool
) -> list[Operation]:
    """The due operations right behind ``head`` on its account, in order."""
    t = orm.operations_table
    query = (
        select(Operation)
        .where(
            t.c.account_key == head.account_key,
            t.c.status == OperationStatus.PENDING,
            t.c.id > (head.id or 0),
        )
        .order_by(t.c.id)
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(of=t)
    found = []
    for operation in session.scalars(query):
        if operation.next_attempt_at is not None and operation.next_attempt_at > now:
            break  # keep the order: nothing runs before an earlier step is due
        found.append(operation)
    return found


def release(
    session: Session, worker_id: str, ids: Collection[int], now: datetime
) -> int:
    """Hand leased operations back untried (their chain stopped early)."""
    t = orm.operations_table
    result = session.execute(
        update(t)
        .where(
            t.c.id.in_(ids),
            t.c.locked_by == worker_id,
            t.c.status == OperationStatus.RUNNING,
        )
        .values(
            status=OperationStatus.PENDING,
            locked_by=None,
            lease_expires_at=None,
            attempts=t.c.attempts - 1,
            next_attempt_at=now,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
