"""The offboarding case: one record joining deprovisioning and the return of
assets (5.18 ties the removal of access to 5.11).

A termination opens one case, in the same transaction, with a checklist:

* ``asset_return``: one per asset the person holds. Returned (condition,
  received by), or written off as lost / written off with a reason and the
  security officer's approval, never the requester's own (5.3).
* ``card_deactivation``: one per security card: deactivate it in the entry
  system (a manual task: no entry system is connected) (7.2).
* ``custodian_handover``: one per privileged account the person looks after;
  the admin password is changed on handover (5.18).
* ``data_handover``: one per system where the person has an account:
  mailbox and files move to the manager or are archived, or the item is
  waived with a reason. It does not hold up closing, but no account is
  deleted while one is open.

Case states: ``open`` → ``closed`` (nothing outstanding, see
``offboarding_progress.outstanding_for_close``) or ``open`` → ``cancelled``
(a rehire). A closed case's accounts are deleted after the retention
period unless a rehire came first. Plain Python and pydantic: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iam_service.domain.assets import AssetCondition
from iam_service.domain.security import Role


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # the person was rehired before it closed


class ItemKind(enum.StrEnum):
    ASSET_RETURN = "asset_return"
    CARD_DEACTIVATION = "card_deactivation"
    CUSTODIAN_HANDOVER = "custodian_handover"
    DATA_HANDOVER = "data_handover"


class ItemStatus(enum.StrEnum):
    OPEN = "open"
    WRITE_OFF_REQUESTED = "write_off_requested"  # waits for the security officer
    DONE = "done"
    WRITTEN_OFF = "written_off"
    WAIVED = "waived"
    CANCELLED = "cancelled"


class Resolution(enum.StrEnum):
    RETURNED = "returned"
    LOST = "lost"
    WRITTEN_OFF = "written_off"
    DEACTIVATED = "deactivated"
    HANDED_OVER = "handed_over"
    MOVED_TO_MANAGER = "moved_to_manager"
    ARCHIVED = "archived"
    WAIVED = "waived"
    CANCELLED = "cancelled"


class WriteOffKind(enum.StrEnum):
    LOST = "lost"  # the asset cannot be found
    WRITTEN_OFF = "written_off"  # it exists but will not come back (destroyed, ...)


class EscalationLevel(enum.IntEnum):
    DEPARTMENT_HEAD = 1
    SECURITY_OFFICER = 2


UNRESOLVED = frozenset({ItemStatus.OPEN, ItemStatus.WRITE_OFF_REQUESTED})
DATA_HANDOVER_DONE = frozenset({Resolution.MOVED_TO_MANAGER, Resolution.ARCHIVED})


class CaseRuleError(ValueError):
    """A step the case's rules refuse (409 at the API)."""


class ApprovalRefused(CaseRuleError):
    """The approver may not take this decision (5.3; 403 at the API)."""


class OffboardingPolicy(BaseModel):
    """The ``offboarding`` section of the policy (8.32: versioned with it)."""

    model_config = ConfigDict(extra="forbid")

    # Outstanding items go to the department head after this many days...
    escalate_to_department_head_after_days: int = Field(default=7, ge=1, le=365)
    # ... and to the security officer after this many.
    escalate_to_security_officer_after_days: int = Field(default=14, ge=1, le=365)
    # Disabled accounts are kept this long after the termination, and are
    # deleted only once the case is closed (and its data handed over).
    account_retention_days: int = Field(default=90, ge=0, le=3650)
    # 7.2: how often the administrators confirm the spare security cards.
    spare_card_check_every_days: int = Field(default=90, ge=1, le=730)
    # What the card-deactivation task calls the entry system.
    entry_system: str = Field(default="the entry system", min_length=1, max_length=100)

    @model_validator(mode="after")
    def _officer_after_head(self) -> OffboardingPolicy:
        if (
            self.escalate_to_security_officer_after_days
            <= self.escalate_to_department_head_after_days
        ):
            raise ValueError(
                "escalate_to_security_officer_after_days must be later than "
                "escalate_to_department_head_after_days"
            )
        return self


@dataclass(eq=False)
class OffboardingCase:
    """One termination's case. ``cause`` is the termination's cause (the HR
    event, ``hr:<event id>``): one case per termination."""

    person_id: int
    employee_id: str
    person_name: str
    department_code: str
    cause: str
    terminated_at: datetime
    opened_at: datetime
    opened_by: str
    manager_employee_id: str | None = None
    status: CaseStatus = CaseStatus.OPEN
    all_disabled_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_note: str = ""
    deletion_due_at: datetime | None = None
    deletion_queued_at: datetime | None = None
    accounts_deleted_at: datetime | None = None
    deletion_held_at: datetime | None = None  # noticed: handover still open
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    id: int | None = None

    def age_days(self, now: datetime) -> int:
        return max(0, (now - self.opened_at).days)

    def close(self, actor: str, now: datetime, note: str, retention: int) -> None:
        """Close; accounts become deletable at the later of now and
        ``retention`` days after the termination."""
        self._expect_open()
        self.status, self.closed_at, self.closed_by = CaseStatus.CLOSED, now, actor
        self.close_note = note
        self.deletion_due_at = max(now, self.terminated_at + timedelta(days=retention))

    def cancel(self, now: datetime, reason: str) -> None:
        """A rehire: an open case is cancelled; a closed one keeps its record
        and its accounts are no longer deleted."""
        if self.status is CaseStatus.OPEN:
            self.status = CaseStatus.CANCELLED
        self.cancelled_at, self.cancel_reason = now, reason

    @property
    def deletion_pending(self) -> bool:
        return (
            self.status is CaseStatus.CLOSED
            and self.cancelled_at is None
            and self.deletion_queued_at is None
        )

    def _expect_open(self) -> None:
        if self.status is not CaseStatus.OPEN:
            raise CaseRuleError(f"case {self.id} is {self.status}")


@dataclass(eq=False)
class CaseItem:
    """One checklist entry of a case."""

    case_id: int
    kind: ItemKind
    title: str
    asset_id: int | None = None
    system_key: str | None = None
    reference: str | None = None  # a custodianship's id
    status: ItemStatus = ItemStatus.OPEN
    resolution: Resolution | None = None
    write_off_kind: WriteOffKind | None = None
    condition: AssetCondition | None = None
    received_by: str | None = None
    reason: str = ""
    note: str = ""
    requested_by: str | None = None
    requested_by_employee_id: str | None = None
    requested_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    id: int | None = None

    @property
    def blocks_closing(self) -> bool:
        """Data handover holds up deletion, not closing."""
        return self.kind is not ItemKind.DATA_HANDOVER and self.status in UNRESOLVED

    @property
    def blocks_deletion(self) -> bool:
        return self.kind is ItemKind.DATA_HANDOVER and self.status in UNRESOLVED

    def mark_returned(
        self, condition: AssetCondition, received_by: str, actor: str, now: datetime
    ) -> None:
        """5.11: the asset came back (also after a write-off was asked for)."""
        self._expect(ItemKind.ASSET_RETURN, UNRESOLVED)
        self.status, self.resolution = ItemStatus.DONE, Resolution.RETURNED
        self.condition, self.received_by = condition, received_by
        self._done(actor, now)

    def request_write_off(
        self,
        kind: WriteOffKind,
        reason: str,
        actor: str,
        employee_id: str | None,
        now: datetime,
    ) -> None:
        self._expect(ItemKind.ASSET_RETURN, {ItemStatus.OPEN})
        if not reason.strip():
            raise CaseRuleError("a write-off needs a reason")
        self.status, self.write_off_kind = ItemStatus.WRITE_OFF_REQUESTED, kind
        self.reason = reason.strip()
        self.requested_by, self.requested_by_employee_id = actor, employee_id
        self.requested_at = now

    def decide_write_off(
        self, approve: bool, decider: Decider, leaver: str, now: datetime, note: str
    ) -> None:
        """The security officer approves or rejects; never the requester, and
        never the leaver (5.3)."""
        self._expect(ItemKind.ASSET_RETURN, {ItemStatus.WRITE_OFF_REQUESTED})
        check_write_off_decider(self, decider, leaver)
        self.decided_by, self.decided_at = decider.actor, now
        if approve:
            self.status = ItemStatus.WRITTEN_OFF
            self.resolution = (
                Resolution.LOST
                if self.write_off_kind is WriteOffKind.LOST
                else Resolution.WRITTEN_OFF
            )
            self.note = note
            self._done(decider.actor, now)
        else:
            self.status, self.write_off_kind = ItemStatus.OPEN, None
            self.note = f"write-off rejected: {note}".strip()

    def complete(
        self,
        resolution: Resolution,
        actor: str,
        now: datetime,
        note: str = "",
        received_by: str | None = None,
    ) -> None:
        """Tick off a task: a card deactivated, a custodianship handed over,
        data moved to the manager or archived."""
        allowed = _COMPLETIONS.get(self.kind, frozenset())
        if resolution not in allowed:
            names = ", ".join(sorted(allowed)) or "none (use return or write-off)"
            raise CaseRuleError(f"a {self.kind} item is completed as one of: {names}")
        self._expect(self.kind, {ItemStatus.OPEN})
        if self.kind is ItemKind.CUSTODIAN_HANDOVER and not received_by:
            raise CaseRuleError("say who takes over the custodianship")
        self.status, self.resolution = ItemStatus.DONE, resolution
        self.note, self.received_by = note, received_by
        self._done(actor, now)

    def waive(self, reason: str, actor: str, now: datetime) -> None:
        """Only a data handover may be waived, and only with a reason."""
        self._expect(ItemKind.DATA_HANDOVER, {ItemStatus.OPEN})
        if not reason.strip():
            raise CaseRuleError("waiving a data handover needs a reason")
        self.status, self.resolution = ItemStatus.WAIVED, Resolution.WAIVED
        self.reason = reason.strip()
        self._done(actor, now)

    def cancel(self, actor: str, now: datetime, why: str) -> None:
        if self.status in UNRESOLVED:
            self.status, self.resolution = ItemStatus.CANCELLED, Resolution.CANCELLED
            self.note = why
            self._done(actor, now)

    def _expect(self, kind: ItemKind, statuses: Iterable[ItemStatus]) -> None:
        if self.kind is not kind:
            raise CaseRuleError(f"item {self.id} is a {self.kind} item, not {kind}")
        allowed = set(statuses)
        if self.status not in allowed:
            raise CaseRuleError(f"item {self.id} is {self.status}")

    def _done(self, actor: str, now: datetime) -> None:
        self.done_by, self.done_at = actor, now


_COMPLETIONS: dict[ItemKind, frozenset[Resolution]] = {
    ItemKind.CARD_DEACTIVATION: frozenset({Resolution.DEACTIVATED}),
    ItemKind.CUSTODIAN_HANDOVER: frozenset({Resolution.HANDED_OVER}),
    ItemKind.DATA_HANDOVER: DATA_HANDOVER_DONE,
}


@dataclass(frozen=True)
class Decider:
    """Who decides a write-off: actor name, employee id if a person, roles."""

    actor: str
    employee_id: str | None
    roles: frozenset[Role]


def check_write_off_decider(item: CaseItem, decider: Decider, leaver: str) -> None:
    if Role.SECURITY_OFFICER not in decider.roles:
        raise ApprovalRefused("a write-off is approved by the security officer")
    if decider.actor == item.requested_by or (
        decider.employee_id is not None
        and decider.employee_id == item.requested_by_employee_id
    ):
        raise ApprovalRefused("nobody approves their own write-off (5.3)")
    if decider.employee_id == leaver:
        raise ApprovalRefused("nobody approves the write-off of their own asset (5.3)")


@dataclass(eq=False)
class CaseEscalation:
    """An escalation that was sent: one per case and level, ever."""

    case_id: int
    level: EscalationLevel
    at: datetime
    recipients: list[str]
    outstanding: list[dict[str, str]]
    note: str = ""
    mail_key: str | None = None
    id: int | None = None
