"""The cloud-service register (5.23, the クラウド一覧表) and its approval rules.

Every connected system has one ``RegisterEntry`` beside its ``TargetSystem``:
what organisational information it stores, who answers for it, where the
vendor is, which selection criteria were checked, and where it stands::

    requested ──approve──▶ approved ──suspend──▶ suspended
        │                     ▲                      │
        └─reject─▶ rejected   └──────approve─────────┘
                      │                  (suspended ──reject──▶ rejected)
                      └─resubmit─▶ requested

A connector runs only while its entry is ``approved``. Only a security
officer (管理責任者) decides, and never on an entry they requested or whose
criteria they assessed themselves (5.3 segregation of duties).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from iam_service.domain.model import Classification, TargetSystem
from iam_service.domain.security import Role

# The requester of entries read from the connectors file: the file's author,
# not whoever happened to load it.
FILE_REQUESTER = "connectors-file"
KEY_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


class ApprovalState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class EntrySource(enum.StrEnum):
    CONNECTORS_FILE = "connectors_file"  # IAM_CONNECTORS_FILE owns its metadata
    MANUAL = "manual"  # registered through the API or CLI


class Criterion(enum.StrEnum):
    """5.23: the selection criteria a new service is checked against."""

    DATA_LOCATION = "data_location"  # where the data is kept is known, acceptable
    ENCRYPTION_IN_TRANSIT = "encryption_in_transit"  # TLS to the service (8.24)
    SSO_SCIM = "sso_scim"  # accounts follow the lifecycle: SSO and/or SCIM (5.16)
    CONTRACT_REVIEWED = "contract_reviewed"  # contract, terms of service, DPA


class CheckResult(enum.StrEnum):
    UNCHECKED = "unchecked"
    MET = "met"
    NOT_MET = "not_met"
    NOT_APPLICABLE = "not_applicable"  # e.g. SCIM for a paper ledger; needs a note


class RegisterError(Exception):
    """A register change the rules refuse; nothing is changed."""


class NotPermitted(RegisterError):
    """The actor lacks the role for this decision."""


class SegregationOfDuties(RegisterError):
    """5.3: the actor requested or assessed the entry they would decide on."""


class InvalidTransition(RegisterError):
    """The entry's state does not allow this decision."""


class Incomplete(RegisterError):
    """The entry lacks what approval needs (5.23); ``missing`` says what."""

    def __init__(self, message: str, missing: list[str]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Actor:
    """Who acts on the register: a principal's actor name and roles."""

    name: str
    roles: frozenset[Role] = frozenset()


class CriterionCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    result: CheckResult = CheckResult.UNCHECKED
    note: str = Field(default="", max_length=1000)


class RegisterDetails(BaseModel):
    """What a requester records about a system beyond the connectors file.

    Every field is optional in an update; ``None`` leaves it unchanged.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    information: str | None = Field(default=None, max_length=2000)
    owner_employee_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$"
    )
    vendor_url: str | None = Field(default=None, max_length=500)
    criteria: dict[Criterion, CriterionCheck] | None = None

    @field_validator("vendor_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        # 8.24: a cloud service is reached over TLS; an empty value is allowed
        # for systems without a URL (a paper ledger, an on-premises tool).
        if value and not value.startswith("https://"):
            raise ValueError("the vendor URL must start with https:// (8.24)")
        return value


class SystemMetadata(BaseModel):
    """The fields the connectors file owns for its systems."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,31}$")
    classification: Classification | None = None
    purpose: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=200)


class SystemUpdate(SystemMetadata, RegisterDetails):
    """A change to a register entry (``PATCH /api/v1/systems/{key}``)."""


class SystemRegistration(RegisterDetails):
    """A system registered by hand (a manual system, or one whose connector
    is not configured yet). It starts ``requested``."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(default="manual", pattern=r"^[a-z][a-z0-9_]{0,31}$")
    classification: Classification
    purpose: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)


def _unchecked() -> dict[str, dict[str, str]]:
    return {
        c.value: {"result": CheckResult.UNCHECKED.value, "note": ""} for c in Criterion
    }


@dataclass(eq=False)
class RegisterEntry:
    """One system's line in the register. ``criteria`` is stored as plain
    JSON (``{criterion: {"result", "note"}}``); ``checks`` reads it typed."""

    system_key: str
    source: EntrySource
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    state: ApprovalState = ApprovalState.REQUESTED
    information: str = ""
    owner_employee_id: str | None = None
    vendor_url: str = ""
    criteria: dict[str, Any] = field(default_factory=_unchecked)
    assessed_by: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_comment: str = ""
    id: int | None = None

    @property
    def checks(self) -> dict[Criterion, CriterionCheck]:
        stored = self.criteria or {}
        return {
            c: CriterionCheck.model_validate(stored.get(c.value) or {})
            for c in Criterion
        }

    @property
    def usable(self) -> bool:
        """True while connectors for this system may run (5.23)."""
        return self.state is ApprovalState.APPROVED

    def apply_details(self, details: RegisterDetails, actor: Actor) -> None:
        if details.information is not None:
            self.information = details.information
        if details.owner_employee_id is not None:
            self.owner_employee_id = details.owner_employee_id
        if details.vendor_url is not None:
            self.vendor_url = details.vendor_url
        if details.criteria is not None:
            merged = {c: self.checks[c] for c in Criterion} | details.criteria
            self.criteria = {
                c.value: merged[c].model_dump(mode="json") for c in Criterion
            }
            self.assessed_by = actor.name  # 5.3: the assessor may not approve

    def approve(
        self, system: TargetSystem, actor: Actor, at: datetime, comment: str
    ) -> None:
        """Approve this entry of ``system``; refused unless complete (5.23)."""
        self._decide(actor, {ApprovalState.REQUESTED, ApprovalState.SUSPENDED})
        missing = missing_for_approval(system, self)
        if missing:
            raise Incomplete(
                f"{self.system_key} cannot be approved yet: " + "; ".join(missing),
                missing,
            )
        self._record(ApprovalState.APPROVED, actor, at, comment)

    def reject(self, actor: Actor, at: datetime, comment: str) -> None:
        self._decide(actor, {ApprovalState.REQUESTED, ApprovalState.SUSPENDED})
        self._record(ApprovalState.REJECTED, actor, at, comment)

    def suspend(self, actor: Actor, at: datetime, comment: str) -> None:
        self._decide(actor, {ApprovalState.APPROVED}, check_duties=False)
        self._record(ApprovalState.SUSPENDED, actor, at, comment)

    def resubmit(self, actor: Actor, at: datetime, comment: str) -> None:
        """A rejected entry, fixed, goes back to the security officer; the
        one who resubmits becomes its requester."""
        require_role(actor, Role.SYSADMIN, "resubmits a system")
        self._require_state({ApprovalState.REJECTED}, "resubmit")
        if not comment.strip():
            raise Incomplete("a resubmission needs a comment", ["comment"])
        self.state = ApprovalState.REQUESTED
        self.requested_by, self.requested_at, self.updated_at = actor.name, at, at
        # The rejection stays in the audit trail; the entry awaits a new one.
        self.decided_by = self.decided_at = None
        self.decision_comment = ""

    def _decide(
        self, actor: Actor, allowed: set[ApprovalState], *, check_duties: bool = True
    ) -> None:
        require_role(actor, Role.SECURITY_OFFICER, "decides on the register")
        self._require_state(allowed, "decide on")
        if not check_duties:
            return  # suspending is a brake, not an approval
        for who, did in (
            (self.requested_by, "requested"),
            (self.assessed_by, "assessed"),
        ):
            if who == actor.name:
                raise SegregationOfDuties(
                    f"{actor.name} {did} {self.system_key} and may not decide "
                    "on it (5.3)"
                )

    def _require_state(self, allowed: set[ApprovalState], verb: str) -> None:
        if self.state not in allowed:
            raise InvalidTransition(
                f"cannot {verb} {self.system_key}: it is {self.state}"
            )

    def _record(
        self, state: ApprovalState, actor: Actor, at: datetime, comment: str
    ) -> None:
        if not comment.strip():
            raise Incomplete("a decision needs a comment", ["comment"])
        self.state = state
        self.decided_by, self.decided_at = actor.name, at
        self.decision_comment = comment.strip()
        self.updated_at = at

    def snapshot(self) -> dict[str, Any]:
        """The register fields, as recorded in audit before/after."""
        return {
            "state": str(self.state),
            "source": str(self.source),
            "information": self.information,
            "owner_employee_id": self.owner_employee_id,
            "vendor_url": self.vendor_url,
            "criteria": dict(self.criteria),
            "requested_by": self.requested_by,
            "decided_by": self.decided_by,
            "decision_comment": self.decision_comment,
        }


def request_entry(
    system_key: str, source: EntrySource, requester: Actor, at: datetime
) -> RegisterEntry:
    """A new entry, ``requested``: nothing is ever approved on creation.

    Entries from the connectors file are requested by ``FILE_REQUESTER``;
    by hand, only a system administrator requests (5.16 issues, 5.23 lists).
    """
    if source is EntrySource.MANUAL:
        require_role(requester, Role.SYSADMIN, "registers a system")
    return RegisterEntry(
        system_key=system_key,
        source=source,
        requested_by=requester.name,
        requested_at=at,
        updated_at=at,
    )


def require_role(actor: Actor, role: Role, what: str) -> None:
    if role not in actor.roles:
        raise NotPermitted(f"only a {role} {what}")


def missing_for_approval(system: TargetSystem, entry: RegisterEntry) -> list[str]:
    """What 5.23 needs before approval: purpose, owner, the information kept,
    and every selection criterion met (or not applicable, with a note why)."""
    missing = []
    if not system.purpose.strip():
        missing.append("purpose is empty")
    if not system.owner.strip():
        missing.append("owner is empty")
    if not entry.information.strip():
        missing.append("the kind of information stored is empty")
    for criterion, check in entry.checks.items():
        if check.result is CheckResult.UNCHECKED:
            missing.append(f"criterion {criterion} is unchecked")
        elif check.result is CheckResult.NOT_MET:
            missing.append(f"criterion {criterion} is not met")
        elif check.result is CheckResult.NOT_APPLICABLE and not check.note.strip():
            missing.append(f"criterion {criterion} is not applicable without a note")
    return missing


def waiting_note(key: str, state: ApprovalState | None) -> str | None:
    """Why operations for ``key`` wait, for the person's page and ``ops list``."""
    if state is ApprovalState.APPROVED:
        return None
    suffix = (
        "" if state is ApprovalState.REQUESTED else f" ({state or 'not registered'})"
    )
    return f"waiting for approval of system {key}{suffix}"
