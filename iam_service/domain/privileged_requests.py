"""What callers send about privileged accounts: API bodies, CLI options,
console forms (``XCreate`` / ``XUpdate``). Unknown keys are refused;
nothing here is a secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iam_service.domain.privileged import OwnerKind

_EMPLOYEE_ID = r"^[A-Za-z0-9_-]{1,64}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class OwnerUpdate(_Input):
    """A person's own account (``person``), or a service with the person
    who answers for it (``service``)."""

    kind: OwnerKind
    employee_id: str = Field(pattern=_EMPLOYEE_ID)
    service_name: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _complete(self) -> OwnerUpdate:
        if self.kind is OwnerKind.UNKNOWN:
            raise ValueError("an owner is a person or a service")
        if self.kind is OwnerKind.SERVICE and not self.service_name:
            raise ValueError("a service owner needs service_name")
        return self


class ManualAccountCreate(_Input):
    """An admin account of a system with no API, registered by hand."""

    system_key: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    username: str = Field(min_length=1, max_length=256)
    description: str = Field(default="", max_length=2000)
    rights: tuple[str, ...] = Field(default=("administrator",), min_length=1)
    owner: OwnerUpdate | None = None
    custodians: tuple[str, ...] = ()


class ApprovalCreate(_Input):
    """8.2: the system administrator's approval, under an authorisation."""

    reason: str = Field(min_length=1, max_length=2000)
    authorisation: str = Field(default="", max_length=500)
    expires_at: datetime | None = None


class CustodianChange(_Input):
    employee_id: str = Field(pattern=_EMPLOYEE_ID)
    reason: str = Field(default="", max_length=2000)


class HandoverCreate(_Input):
    """A security officer hands ``outgoing``'s credentials to ``successor``."""

    outgoing_employee_id: str = Field(pattern=_EMPLOYEE_ID)
    successor_employee_id: str | None = Field(default=None, pattern=_EMPLOYEE_ID)
    reason: str = Field(default="", max_length=2000)


class SuccessorUpdate(_Input):
    successor_employee_id: str = Field(pattern=_EMPLOYEE_ID)


class RotationCreate(_Input):
    """Rotate one inventory account now; the password goes to ``recipient``
    (default: its first custodian)."""

    recipient_employee_id: str | None = Field(default=None, pattern=_EMPLOYEE_ID)
    reason: str = Field(default="", max_length=2000)
