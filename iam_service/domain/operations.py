"""Operations: every change to a target system, as a durable row.

Handlers write operations in the same transaction as the domain change;
workers apply them, read the result back, and record the outcome. See
``docs/decisions/0002-operation-queue.md``.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


class OperationKind(enum.StrEnum):
    CREATE_ACCOUNT = "create_account"
    UPDATE_ACCOUNT = "update_account"
    ENABLE_ACCOUNT = "enable_account"
    DISABLE_ACCOUNT = "disable_account"
    SCRAMBLE_PASSWORD = "scramble_password"  # noqa: S105 - an operation name
    ADD_TO_GROUP = "add_to_group"
    REMOVE_FROM_GROUP = "remove_from_group"
    REMOVE_ALL_GROUPS = "remove_all_groups"
    REVOKE_SESSIONS = "revoke_sessions"
    MOVE_TO_LEAVERS = "move_to_leavers"
    REMOVE_LICENSES = "remove_licenses"
    DELETE_ACCOUNT = "delete_account"
    # A rehire: out of the leavers' container, with a fresh password.
    RESTORE_ACCOUNT = "restore_account"
    # 5.17: a person's self-service change; the new password waits sealed in
    # the secret store under payload["secret_ref"] (services/password_changes.py).
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an operation name
    # 5.18: a privileged account's password changes on handover; the worker
    # generates it and hands it to the secret store (services/rotation_step.py).
    ROTATE_PASSWORD = "rotate_password"  # noqa: S105 - an operation name


class OperationStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # kept failing, or failed permanently; a human must look
    CANCELLED = "cancelled"


class Priority(enum.IntEnum):
    """Lower runs first. Terminations jump the queue (5.16: "promptly")."""

    TERMINATION = 0
    ELEVATED = 10
    NORMAL = 100
    BULK = 200


UNFINISHED = (OperationStatus.PENDING, OperationStatus.RUNNING)


@dataclass(eq=False)
class Operation:
    """One change to one account in one target system.

    ``account_key`` serialises work: operations that share it run one at a
    time, in the order they were written. ``payload`` never holds a secret.
    """

    idempotency_key: str
    system_key: str
    account_key: str
    kind: OperationKind
    payload: dict[str, Any] = field(default_factory=dict)
    priority: int = Priority.NORMAL
    account_id: int | None = None
    person_id: int | None = None
    status: OperationStatus = OperationStatus.PENDING
    attempts: int = 0
    max_attempts: int = 12
    not_before: datetime | None = None
    next_attempt_at: datetime | None = None
    lease_expires_at: datetime | None = None
    locked_by: str | None = None
    last_error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    cause: str | None = None  # what caused it: an HR event id, a request id
    created_at: datetime | None = None
    updated_at: datetime | None = None
    finished_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter, capped."""

    base_seconds: float = 2.0
    cap_seconds: float = 300.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(attempts - 1, 0)))
        chooser = rng or random.Random()  # noqa: S311 - jitter, not security
        return timedelta(seconds=ceiling / 2 + chooser.uniform(0, ceiling / 2))
