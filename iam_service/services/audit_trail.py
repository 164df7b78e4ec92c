"""Verifying and pruning the audit trail (8.15)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, insert, select

from iam_service.adapters import orm
from iam_service.domain.audit import (
    GENESIS_HASH,
    MIN_RETENTION_DAYS,
    ChainReport,
    verify_chain,
)
from iam_service.services.unit_of_work import UnitOfWorkFactory


def verify(uow_factory: UnitOfWorkFactory) -> ChainReport:
    """Walk the whole retained chain; every edited or missing row is reported."""
    with uow_factory() as uow:
        seq, prev = uow.audit.anchor() or (0, GENESIS_HASH)
        return verify_chain(uow.audit.iter_all(), anchor_seq=seq, anchor_hash=prev)


def prune(uow_factory: UnitOfWorkFactory, retention_days: int) -> int:
    """Delete records older than the retention period, keeping the chain
    verifiable by anchoring it at the last deleted record."""
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention below {MIN_RETENTION_DAYS} days (8.15)")
    with uow_factory() as uow:
        cutoff = uow.clock.now() - timedelta(days=retention_days)
        t = orm.audit_records
        last_old = uow.session.scalar(select(func.max(t.c.seq)).where(t.c.at < cutoff))
        if last_old is None:
            return 0
        anchor_hash = uow.session.scalar(select(t.c.hash).where(t.c.seq == last_old))
        result = uow.session.execute(delete(t).where(t.c.seq <= last_old))
        uow.session.execute(
            insert(orm.audit_anchor).values(
                seq=last_old, hash=anchor_hash, pruned_at=uow.clock.now()
            )
        )
        uow.record(
            "scheduler",
            "audit.pruned",
            "audit",
            after={"through_seq": last_old, "retention_days": retention_days},
        )
        uow.commit()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
