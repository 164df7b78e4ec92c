"""The privileged-account inventory, handovers, rotations and sealed secrets:
the tables and the repositories over them (never committing).

``sealed_secrets`` holds what the default secret store keeps: AES-GCM
ciphertext only (``adapters/secret_stores.py``), deleted once shown. No
table here ever holds a password in clear.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    select,
)
from sqlalchemy.orm import Session

from iam_service.adapters import orm
from iam_service.adapters.orm_console import console_sessions
from iam_service.domain.operations import OperationStatus
from iam_service.domain.privileged import (
    AccountSource,
    Approval,
    Custodian,
    Handover,
    HandoverStatus,
    HandoverTrigger,
    OwnerKind,
    PrivilegedAccount,
    Rotation,
    RotationKind,
)

privileged_accounts = Table(
    "privileged_accounts",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("system_key", String(64), nullable=False),
    Column("username", String(256), nullable=False),
    Column("native_id", String(256)),
    Column("source", orm._enum(AccountSource), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("rights", orm.Json, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("possibly_stale", Boolean, nullable=False, default=False),
    Column("present", Boolean, nullable=False, default=True),
    Column("owner_kind", orm._enum(OwnerKind), nullable=False),
    Column("owner_employee_id", String(64), index=True),
    Column("service_name", String(200)),
    Column("first_seen_at", orm.UtcDateTime),
    Column("last_seen_at", orm.UtcDateTime),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", orm.UtcDateTime),
    UniqueConstraint("system_key", "username"),
)

privileged_custodians = Table(
    "privileged_custodians",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id", ForeignKey("privileged_accounts.id"), nullable=False, index=True
    ),
    Column("employee_id", String(64), nullable=False, index=True),
    Column("since", orm.UtcDateTime, nullable=False),
    Column("added_by", String(200), nullable=False),
    Column("ended_at", orm.UtcDateTime),
    Column("ended_by", String(200)),
    Column("end_reason", Text, nullable=False, default=""),
)

privileged_approvals = Table(
    "privileged_approvals",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id", ForeignKey("privileged_accounts.id"), nullable=False, index=True
    ),
    Column("approver", String(200), nullable=False),
    Column("approver_employee_id", String(64)),
    Column("approved_at", orm.UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("authorisation", Text, nullable=False, default=""),
    Column("expires_at", orm.UtcDateTime),
    Column("revoked_at", orm.UtcDateTime),
    Column("revoked_by", String(200)),
)

privileged_handovers = Table(
    "privileged_handovers",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column("outgoing_employee_id", String(64), index=True),
    Column("trigger", orm._enum(HandoverTrigger), nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("started_at", orm.UtcDateTime, nullable=False),
    Column("cause", String(200), nullable=False, default=""),
    Column("successor_employee_id", String(64), index=True),
    Column("successor_named_at", orm.UtcDateTime),
    Column("status", orm._enum(HandoverStatus), nullable=False),
    Column("finished_at", orm.UtcDateTime),
)

privileged_rotations = Table(
    "privileged_rotations",
    orm.metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "account_id", ForeignKey("privileged_accounts.id"), nullable=False, index=True
    ),
    Column("kind", orm._enum(RotationKind), nullable=False),
    Column("created_at", orm.UtcDateTime, nullable=False),
    Column("handover_id", ForeignKey("privileged_handovers.id"), index=True),
    Column("recipient_employee_id", String(64), index=True),
    Column("operation_id", ForeignKey("operations.id")),
    Column("link_token_hash", String(64), unique=True),
    Column("link_expires_at", orm.UtcDateTime),
    Column("shown_at", orm.UtcDateTime),
    Column("confirmed_at", orm.UtcDateTime),
    Column("confirmed_by", String(200)),
)

sealed_secrets = Table(
    "sealed_secrets",
    orm.metadata,
    Column("ref", String(100), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),  # nonce + AES-GCM ciphertext
    Column("created_at", orm.UtcDateTime, nullable=False),
)

orm.register(PrivilegedAccount, privileged_accounts)
orm.register(Custodian, privileged_custodians)
orm.register(Approval, privileged_approvals)
orm.register(Handover, privileged_handovers)
orm.register(Rotation, privileged_rotations)


class PrivilegedRepository:
    """Inventory entries with their custodians and approvals."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: object) -> None:
        self.session.add(item)

    def get(self, account_id: int) -> PrivilegedAccount | None:
        return self.session.get(PrivilegedAccount, account_id)

    def by_name(self, system_key: str, username: str) -> PrivilegedAccount | None:
        return self.session.scalars(
            select(PrivilegedAccount).where(
                privileged_accounts.c.system_key == system_key,
                func.lower(privileged_accounts.c.username) == username.lower(),
            )
        ).first()

    def for_system(self, system_key: str) -> Sequence[PrivilegedAccount]:
        return self.session.scalars(
            select(PrivilegedAccount).where(
                privileged_accounts.c.system_key == system_key
            )
        ).all()

    def all(self, *, present_only: bool = True) -> Sequence[PrivilegedAccount]:
        query = select(PrivilegedAccount).order_by(
            privileged_accounts.c.system_key, func.lower(privileged_accounts.c.username)
        )
        if present_only:
            query = query.where(privileged_accounts.c.present.is_(True))
        return self.session.scalars(query).all()

    def custodians(self, account_ids: Iterable[int]) -> Sequence[Custodian]:
        ids = list(account_ids)
        return self.session.scalars(
            select(Custodian)
            .where(privileged_custodians.c.account_id.in_(ids))
            .order_by(privileged_custodians.c.since, privileged_custodians.c.id)
        ).all()

    def custodianships_of(self, employee_id: str) -> Sequence[Custodian]:
        """The custodianships ``employee_id`` holds now."""
        return self.session.scalars(
            select(Custodian).where(
                privileged_custodians.c.employee_id == employee_id,
                privileged_custodians.c.ended_at.is_(None),
            )
        ).all()

    def approvals(self, account_ids: Iterable[int]) -> Sequence[Approval]:
        ids = list(account_ids)
        return self.session.scalars(
            select(Approval)
            .where(privileged_approvals.c.account_id.in_(ids))
            .order_by(privileged_approvals.c.approved_at)
        ).all()

    def approval(self, approval_id: int) -> Approval | None:
        return self.session.get(Approval, approval_id)

    def session_signed_in_at(self, session_id: int) -> datetime | None:
        """When the console session ``session_id`` was opened (its sign-in)."""
        found: datetime | None = self.session.scalar(
            select(console_sessions.c.created_at).where(
                console_sessions.c.id == session_id
            )
        )
        return found


class HandoverRepository:
    """Handovers and their rotations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, item: object) -> None:
        self.session.add(item)

    def get(self, handover_id: int) -> Handover | None:
        return self.session.get(Handover, handover_id)

    def recent(self, limit: int = 100) -> Sequence[Handover]:
        return self.session.scalars(
            select(Handover).order_by(privileged_handovers.c.id.desc()).limit(limit)
        ).all()

    def for_successor(self, employee_id: str) -> Sequence[Handover]:
        return self.session.scalars(
            select(Handover)
            .where(privileged_handovers.c.successor_employee_id == employee_id)
            .order_by(privileged_handovers.c.id.desc())
        ).all()

    def rotation(self, rotation_id: int) -> Rotation | None:
        return self.session.get(Rotation, rotation_id)

    def rotations(self, handover_id: int) -> Sequence[Rotation]:
        return self.session.scalars(
            select(Rotation)
            .where(privileged_rotations.c.handover_id == handover_id)
            .order_by(privileged_rotations.c.id)
        ).all()

    def rotations_of(self, account_id: int) -> Sequence[Rotation]:
        return self.session.scalars(
            select(Rotation)
            .where(privileged_rotations.c.account_id == account_id)
            .order_by(privileged_rotations.c.id)
        ).all()

    def awaiting_recipient(self, account_ids: Iterable[int]) -> set[int]:
        """Accounts with a rotation that waits for a successor to be named."""
        r = privileged_rotations
        query = select(r.c.account_id).where(
            r.c.account_id.in_(list(account_ids)),
            r.c.recipient_employee_id.is_(None),
        )
        return set(self.session.scalars(query))

    def by_link(self, token_hash: str, *, lock: bool = False) -> Rotation | None:
        query = select(Rotation).where(
            privileged_rotations.c.link_token_hash == token_hash
        )
        if lock:  # PostgreSQL: a second reveal waits, then finds the link spent
            query = query.with_for_update()
        return self.session.scalars(query).first()

    def last_rotated(self, account_ids: Iterable[int]) -> dict[int, datetime]:
        """When each account's password last changed through us: its latest
        succeeded rotation operation, or confirmed manual rotation."""
        ops = orm.operations_table
        r = privileged_rotations
        ids = list(account_ids)
        automatic = (
            select(r.c.account_id, func.max(ops.c.finished_at))
            .join(ops, ops.c.id == r.c.operation_id)
            .where(r.c.account_id.in_(ids), ops.c.status == OperationStatus.SUCCEEDED)
            .group_by(r.c.account_id)
        )
        manual = (
            select(r.c.account_id, func.max(r.c.confirmed_at))
            .where(r.c.account_id.in_(ids), r.c.confirmed_at.is_not(None))
            .group_by(r.c.account_id)
        )
        found: dict[int, datetime] = {}
        for query in (automatic, manual):
            for account_id, at in self.session.execute(query):
                if at is not None and (
                    account_id not in found or at > found[account_id]
                ):
                    found[account_id] = at
        return found


class SealedSecretRepository:
    """Rows of the default secret store: ciphertext only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, ref: str, sealed: bytes, now: datetime) -> None:
        self.delete(ref)
        self.session.execute(
            sealed_secrets.insert().values(ref=ref, sealed=sealed, created_at=now)
        )

    def get(self, ref: str) -> bytes | None:
        found: bytes | None = self.session.scalar(
            select(sealed_secrets.c.sealed).where(sealed_secrets.c.ref == ref)
        )
        return found

    def delete(self, ref: str) -> bool:
        result = self.session.execute(
            delete(sealed_secrets).where(sealed_secrets.c.ref == ref)
        )
        return bool(getattr(result, "rowcount", 0))

    def refs(self) -> list[str]:
        return list(self.session.scalars(select(sealed_secrets.c.ref)))
