"""The asset register (5.9): what the organisation lends to people.

Laptops, phones, security cards (7.2, with their card numbers), storage
media (7.10), tokens and the rest, each with a tag, a holder and the history
of who held it. On termination every asset still held is returned or written
off (5.11); the offboarding case (``domain/offboarding.py``) tracks that.

States and the moves between them::

    spare ──assign──▶ in_use ──return──▶ returned ──▶ spare / in_use
      │                 │  └─ written off (approved, 5.3) ─▶ lost / disposed
      └─ spare-card check finds it missing ─▶ lost ──found──▶ returned

Only ``in_use`` has a holder. Plain Python and pydantic: no I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from iam_service.domain.hr import EMPLOYEE_ID_PATTERN


class AssetType(enum.StrEnum):
    LAPTOP = "laptop"
    DESKTOP = "desktop"
    PHONE = "phone"
    SECURITY_CARD = "security_card"  # 7.2: entry cards, listed with card number
    STORAGE_MEDIA = "storage_media"  # 7.10: company-issued media only
    TOKEN = "token"  # noqa: S105 - hardware authentication tokens, not a secret
    OTHER = "other"


class AssetState(enum.StrEnum):
    IN_USE = "in_use"
    SPARE = "spare"
    RETURNED = "returned"  # back with the organisation, not yet re-issued
    LOST = "lost"
    DISPOSED = "disposed"


class AssetCondition(enum.StrEnum):
    """How an asset came back, as recorded by whoever received it."""

    GOOD = "good"
    WORN = "worn"
    DAMAGED = "damaged"
    INCOMPLETE = "incomplete"  # parts or accessories missing


class AssignmentEnd(enum.StrEnum):
    RETURNED = "returned"
    LOST = "lost"
    WRITTEN_OFF = "written_off"
    REASSIGNED = "reassigned"


class AssetRuleError(ValueError):
    """A change the register's rules refuse; the message says why."""


# Where each state may go next. Leaving ``in_use`` for ``lost`` or
# ``disposed`` happens only through an approved write-off (offboarding).
TRANSITIONS: dict[AssetState, frozenset[AssetState]] = {
    AssetState.SPARE: frozenset(
        {AssetState.IN_USE, AssetState.LOST, AssetState.DISPOSED}
    ),
    AssetState.IN_USE: frozenset(
        {AssetState.RETURNED, AssetState.LOST, AssetState.DISPOSED}
    ),
    AssetState.RETURNED: frozenset(
        {AssetState.SPARE, AssetState.IN_USE, AssetState.LOST, AssetState.DISPOSED}
    ),
    AssetState.LOST: frozenset({AssetState.RETURNED, AssetState.DISPOSED}),
    AssetState.DISPOSED: frozenset(),
}

TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_CARD_NUMBER = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def normalise_key(value: str) -> str:
    """Tags and serials compare without case or surrounding blanks."""
    return value.strip().upper()


@dataclass(eq=False)
class Asset:
    """One registered asset. ``tag`` is the organisation's label (unique);
    ``serial`` the maker's serial number (unique where known); a security
    card also has its ``card_number`` (unique, 7.2)."""

    asset_type: AssetType
    tag: str
    description: str = ""
    serial: str | None = None
    card_number: str | None = None
    state: AssetState = AssetState.SPARE
    holder_id: int | None = None  # a person; only while in use
    note: str = ""
    registered_at: datetime | None = None
    registered_by: str = ""
    updated_at: datetime | None = None
    id: int | None = None

    @property
    def label(self) -> str:
        kind = self.asset_type.value.replace("_", " ")
        extra = f" ({self.description})" if self.description else ""
        return f"{kind} {self.tag}{extra}"

    def move_to(self, state: AssetState) -> None:
        """Change state, or ``AssetRuleError`` if the register forbids it."""
        if state is self.state:
            return
        if state not in TRANSITIONS[self.state]:
            raise AssetRuleError(
                f"asset {self.tag} is {self.state}; it cannot become {state}"
            )
        self.state = state
        if state is not AssetState.IN_USE:
            self.holder_id = None

    def snapshot(self) -> dict[str, str | None]:
        return {
            "type": str(self.asset_type),
            "tag": self.tag,
            "serial": self.serial,
            "card_number": self.card_number,
            "description": self.description,
            "state": str(self.state),
        }


@dataclass(eq=False)
class AssetAssignment:
    """One period during which a person held an asset (the history, 5.9)."""

    asset_id: int
    person_id: int
    assigned_at: datetime
    assigned_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None
    outcome: AssignmentEnd | None = None
    condition: AssetCondition | None = None
    received_by: str | None = None
    note: str = ""
    id: int | None = None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AssetCreate(_Strict):
    """A new asset, from the API or one CSV row.

    Without ``state`` an asset with a holder is ``in_use`` and one without
    is ``spare``; only ``in_use`` may have a holder."""

    asset_type: AssetType
    tag: str = Field(pattern=TAG_PATTERN)
    serial: str | None = Field(default=None, min_length=1, max_length=128)
    description: str = Field(default="", max_length=200)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)
    holder_employee_id: str | None = Field(default=None, pattern=EMPLOYEE_ID_PATTERN)
    state: AssetState | None = None
    note: str = Field(default="", max_length=1000)

    @field_validator("card_number")
    @classmethod
    def _card_shape(cls, value: str | None) -> str | None:
        return _card_number_shape(value)

    @model_validator(mode="after")
    def _consistent(self) -> AssetCreate:
        is_card = self.asset_type is AssetType.SECURITY_CARD
        if is_card and not self.card_number:
            raise ValueError("a security card needs its card number (7.2)")
        if not is_card and self.card_number:
            raise ValueError("only a security card has a card number")
        if self.state is None:
            self.state = (
                AssetState.IN_USE if self.holder_employee_id else AssetState.SPARE
            )
        if (self.state is AssetState.IN_USE) != bool(self.holder_employee_id):
            raise ValueError("an asset in use needs a holder, and only one in use")
        return self


class AssetUpdate(_Strict):
    """Descriptive fields; ``None`` leaves a field unchanged."""

    description: str | None = Field(default=None, max_length=200)
    serial: str | None = Field(default=None, min_length=1, max_length=128)
    card_number: str | None = Field(default=None, min_length=1, max_length=32)
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("card_number")
    @classmethod
    def _card_shape(cls, value: str | None) -> str | None:
        return _card_number_shape(value)


def _card_number_shape(value: str | None) -> str | None:
    if value is not None and not _CARD_NUMBER.match(value):
        raise ValueError("is letters, digits and '-' only")
    return value


class CheckStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


@dataclass(eq=False)
class SpareCardCheck:
    """7.2: a periodic confirmation that the spare security cards are where
    they should be. Opened by the scheduler for the administrators with the
    cards that were spare at the time; completed when every one of them is
    accounted for as present or missing."""

    opened_at: datetime
    expected: list[str]  # tags of the spare cards when the check opened
    status: CheckStatus = CheckStatus.OPEN
    present: list[str] | None = None
    missing: list[str] | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    note: str = ""
    id: int | None = None

    def complete(
        self, present: set[str], missing: set[str], actor: str, now: datetime
    ) -> None:
        if self.status is not CheckStatus.OPEN:
            raise AssetRuleError(f"spare-card check {self.id} is already completed")
        expected = {normalise_key(t) for t in self.expected}
        both = present & missing
        unknown = (present | missing) - expected
        unaccounted = expected - present - missing
        problems = [
            f"{label}: {', '.join(sorted(tags))}"
            for label, tags in (
                ("both present and missing", both),
                ("not part of this check", unknown),
                ("not accounted for", unaccounted),
            )
            if tags
        ]
        if problems:
            raise AssetRuleError("; ".join(problems))
        self.status, self.completed_at, self.completed_by = (
            CheckStatus.COMPLETED,
            now,
            actor,
        )
        self.present, self.missing = sorted(present), sorted(missing)
