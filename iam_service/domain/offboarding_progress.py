"""What keeps an offboarding case open, and when it escalates: pure rules
over the accounts as the worker verified them and the checklist items."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from iam_service.domain.model import AccountStatus
from iam_service.domain.offboarding import (
    CaseItem,
    EscalationLevel,
    ItemStatus,
    OffboardingPolicy,
)


@dataclass(frozen=True)
class AccountProgress:
    """A person's account as the case sees it: the state verified by
    read-back and the leaver steps not yet done."""

    system_key: str
    username: str
    status: AccountStatus
    verified_at: datetime | None
    unfinished_steps: int = 0
    failed_steps: int = 0

    @property
    def disabled_verified(self) -> bool:
        if self.status is AccountStatus.DELETED:
            return True
        return (
            self.status is AccountStatus.DISABLED
            and self.verified_at is not None
            and not self.unfinished_steps
            and not self.failed_steps
        )

    def problem(self) -> str:
        if self.failed_steps:
            return f"{self.failed_steps} leaver step(s) failed; see the queue"
        if self.unfinished_steps:
            return f"{self.unfinished_steps} leaver step(s) still queued"
        return f"not verified disabled (state {self.status})"


@dataclass(frozen=True)
class Outstanding:
    """Something that keeps a case open: ``kind`` is ``account`` or an item
    kind, ``ref`` the account's system or the item id."""

    kind: str
    ref: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "message": self.message}


def outstanding_for_close(
    items: Iterable[CaseItem], accounts: Iterable[AccountProgress]
) -> list[Outstanding]:
    """What stands between the case and closing; empty means it may close:
    every account verified disabled, every asset returned or written off,
    every task done (5.11, 5.18)."""
    found = [
        Outstanding("account", a.system_key, f"{a.username}: {a.problem()}")
        for a in accounts
        if not a.disabled_verified
    ]
    for item in items:
        if item.blocks_closing:
            waiting = (
                " (write-off awaiting the security officer's approval)"
                if item.status is ItemStatus.WRITE_OFF_REQUESTED
                else ""
            )
            found.append(
                Outstanding(str(item.kind), str(item.id), item.title + waiting)
            )
    return found


def levels_due(
    opened_at: datetime, now: datetime, policy: OffboardingPolicy
) -> list[EscalationLevel]:
    """The escalation levels whose time has come for a case opened then."""
    age = now - opened_at
    due = []
    if age >= timedelta(days=policy.escalate_to_department_head_after_days):
        due.append(EscalationLevel.DEPARTMENT_HEAD)
    if age >= timedelta(days=policy.escalate_to_security_officer_after_days):
        due.append(EscalationLevel.SECURITY_OFFICER)
    return due
