"""Privileged accounts (8.2), their custodians, approvals, handovers and
password rotations (5.18). Plain Python and pydantic: no I/O.

An inventory entry is one account holding privileged rights in one system:
found by discovery (AD groups, Entra directory roles, SaaS admin roles) or
registered by hand for a system with no API (a file server's local
Administrator, a switch, a BIOS). It has

* an **owner**: a person, or a service with a responsible person;
* its **custodians**: the people who know or use the credential;
* the **approval** that allows it: an approval record (approver, time,
  reason, optionally an end), or a grant of its rights that went through
  an approval chain or a time-boxed elevation (counted for its window).

What is wrong with an entry is shown as flags (``Flag``): no approval,
no owner, owner left, custodian left, possibly stale (AD ``adminCount``),
rotation due. A **handover** moves every credential an outgoing custodian
knew to a successor and changes each password (5.18: "promptly"); a
**rotation** is one such change, of one account, shown once to whoever
receives it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from iam_service.domain.model import PersonStatus


class AccountSource(enum.StrEnum):
    DISCOVERED = "discovered"  # read from the system by discovery
    MANUAL = "manual"  # registered by hand (a system with no API)


class OwnerKind(enum.StrEnum):
    UNKNOWN = "unknown"
    PERSON = "person"  # a person's own admin account
    SERVICE = "service"  # a service or shared account, with a responsible person


class Flag(enum.StrEnum):
    NO_APPROVAL = "no_approval"  # 8.2: nothing approved it
    NO_OWNER = "no_owner"
    OWNER_LEFT = "owner_left"
    CUSTODIAN_LEFT = "custodian_left"  # 5.18: hand over and rotate
    POSSIBLY_STALE = "possibly_stale"  # AD adminCount=1, no privileged group
    ROTATION_DUE = "rotation_due"
    SUCCESSOR_NEEDED = "successor_needed"  # 5.18: rotated, nobody named yet


class HandoverTrigger(enum.StrEnum):
    CONSOLE = "console"  # a security officer started it
    TERMINATION = "termination"  # the custodian left
    TRANSFER = "transfer"  # the custodian moved out of an admin position
    SCHEDULED = "scheduled"  # periodic rotation (no person hands over)


class HandoverStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class RotationKind(enum.StrEnum):
    AUTOMATIC = "automatic"  # through the queue (AD, Entra, SCIM)
    MANUAL = "manual"  # a person sets it on the device (manual systems)


class RotationState(enum.StrEnum):
    """Where a rotation stands, derived from its operation and secret."""

    QUEUED = "queued"
    VERIFIED = "verified"  # set and verified; the secret waits to be shown
    SHOWN = "shown"  # shown once and destroyed
    FAILED = "failed"  # the operation is dead: a human must look
    AWAITING_PERSON = "awaiting_person"  # manual: to be set on the device
    DONE = "done"  # manual: the recipient confirmed it is set


class RotationCheck(enum.StrEnum):
    """What the worker verified after setting a rotated password (8.32): the
    codes of an operation's ``result["checks"]``, shown in words."""

    NEW_BINDS = "new_binds"  # a test bind with the new password succeeded
    OLD_REFUSED = "old_refused"  # the previous password we generated fails
    LAST_CHANGE_MOVED = "last_change_moved"  # e.g. AD pwdLastSet moved
    ACCEPTED = "accepted"  # nothing to verify with: the system took it


class PrivilegedRuleError(Exception):
    """A change the inventory's rules refuse; nothing is changed."""


@dataclass(frozen=True)
class Holding:
    """One right as the inventory keeps it (``connectors.PrivilegedHolding``)."""

    right: str
    kind: str
    via: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"right": self.right, "kind": self.kind, "via": list(self.via)}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Holding:
        return cls(str(data["right"]), str(data["kind"]), tuple(data.get("via", ())))

    def label(self) -> str:
        return self.right + (f" (via {', '.join(self.via)})" if self.via else "")


@dataclass(eq=False)
class PrivilegedAccount:
    system_key: str
    username: str
    source: AccountSource
    native_id: str | None = None
    description: str = ""
    rights: list[dict[str, Any]] = field(default_factory=list)
    enabled: bool = True
    possibly_stale: bool = False
    present: bool = True  # still seen by the last discovery
    owner_kind: OwnerKind = OwnerKind.UNKNOWN
    owner_employee_id: str | None = None  # the person, or the responsible one
    service_name: str | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def ref(self) -> str:
        return f"privileged:{self.id}"

    def holdings(self) -> list[Holding]:
        return [Holding.of(r) for r in self.rights]

    def label(self) -> str:
        return f"{self.username} in {self.system_key}"


@dataclass(eq=False)
class Custodian:
    """Someone who knows or uses the credential, from ``since`` to ``ended_at``."""

    account_id: int
    employee_id: str
    since: datetime
    added_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: str = ""
    id: int | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(eq=False)
class Approval:
    """8.2: the system administrator approved this account under
    authorisation: who, when, why, until when."""

    account_id: int
    approver: str
    approved_at: datetime
    reason: str
    authorisation: str = ""  # the authorising reference (ticket, decision)
    approver_employee_id: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    id: int | None = None

    def in_force(self, now: datetime) -> bool:
        return self.revoked_at is None and (
            self.expires_at is None or now < self.expires_at
        )


@dataclass(frozen=True)
class GrantApproval:
    """A grant of the account owner's that approves one right for a window:
    an approved request, or a time-boxed elevation (8.18)."""

    right: str
    source: str
    granted_at: datetime
    expires_at: datetime | None

    def in_force(self, now: datetime) -> bool:
        return self.granted_at <= now and (
            self.expires_at is None or now < self.expires_at
        )


@dataclass(eq=False)
class Handover:
    outgoing_employee_id: str | None  # None: a scheduled rotation
    trigger: HandoverTrigger
    started_by: str
    started_at: datetime
    cause: str = ""
    successor_employee_id: str | None = None
    successor_named_at: datetime | None = None
    status: HandoverStatus = HandoverStatus.OPEN
    finished_at: datetime | None = None
    id: int | None = None


@dataclass(eq=False)
class Rotation:
    """One password change of one account. The password itself is never
    here: the worker hands it to the secret store under ``secret_ref``."""

    account_id: int
    kind: RotationKind
    created_at: datetime
    handover_id: int | None = None
    recipient_employee_id: str | None = None
    operation_id: int | None = None
    link_token_hash: str | None = None
    link_expires_at: datetime | None = None
    shown_at: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None
    id: int | None = None

    @property
    def secret_ref(self) -> str:
        return f"rotation-{self.id}"


class AdminPositions(BaseModel):
    """Who counts as being in an admin position (the transfer rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()

    def holds(self, department: str, title: str) -> bool:
        titles = {t.casefold() for t in self.titles}
        return department in self.departments or title.casefold() in titles


class PrivilegedPolicy(BaseModel):
    """The ``privileged:`` section of the policy (policies/privileged.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 5.18 transfers: a custodian whose new position is no admin position
    # hands over everything they look after.
    admin_positions: AdminPositions = Field(default_factory=AdminPositions)
    # 5.17: admin passwords change at least this often (None: only on handover).
    rotate_every_days: int | None = Field(default=None, ge=1, le=3650)
    rotate_every_days_by_system: dict[str, int] = Field(default_factory=dict)

    def rotation_period(self, system_key: str) -> timedelta | None:
        days = self.rotate_every_days_by_system.get(system_key, self.rotate_every_days)
        return timedelta(days=days) if days else None


def leaves_admin_position(
    positions: AdminPositions, before: tuple[str, str], after: tuple[str, str]
) -> bool:
    """The transfer rule: held an admin position, and the new one is not."""
    return positions.holds(*before) and not positions.holds(*after)


def flags(
    account: PrivilegedAccount,
    *,
    custodians: Iterable[Custodian],
    approvals: Iterable[Approval],
    grants: Iterable[GrantApproval],
    status_of: Mapping[str, PersonStatus],
    last_rotated_at: datetime | None,
    rotation_period: timedelta | None,
    now: datetime,
    successor_needed: bool = False,
) -> list[Flag]:
    """What is wrong with ``account`` now; empty when nothing is."""
    found: list[Flag] = []
    if not _approved(account, approvals, grants, now):
        found.append(Flag.NO_APPROVAL)
    owner = account.owner_employee_id
    if owner is None:
        found.append(Flag.NO_OWNER)
    elif status_of.get(owner) is PersonStatus.TERMINATED:
        found.append(Flag.OWNER_LEFT)
    if any(
        c.active and status_of.get(c.employee_id) is PersonStatus.TERMINATED
        for c in custodians
    ):
        found.append(Flag.CUSTODIAN_LEFT)
    if account.possibly_stale:
        found.append(Flag.POSSIBLY_STALE)
    if rotation_period is not None:
        since = last_rotated_at or account.first_seen_at
        if since is None or now - since >= rotation_period:
            found.append(Flag.ROTATION_DUE)
    if successor_needed:
        found.append(Flag.SUCCESSOR_NEEDED)
    return found


def _approved(
    account: PrivilegedAccount,
    approvals: Iterable[Approval],
    grants: Iterable[GrantApproval],
    now: datetime,
) -> bool:
    if any(a.in_force(now) for a in approvals):
        return True
    rights = {h.right.casefold() for h in account.holdings() if h.kind != "admin_count"}
    covered = {g.right.casefold() for g in grants if g.in_force(now)}
    return bool(rights) and rights <= covered
