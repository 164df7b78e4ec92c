"""What a person sends to work an offboarding case (API and console):
strict models, blanks stripped, so a missing reason is a 422 that writes
nothing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from iam_service.domain.assets import AssetCondition
from iam_service.domain.offboarding import Resolution, WriteOffKind


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ReturnBody(_Body):
    condition: AssetCondition
    received_by: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=1000)


class WriteOffBody(_Body):
    kind: WriteOffKind
    reason: str = Field(min_length=1, max_length=2000)


class DecisionBody(_Body):
    note: str = Field(default="", max_length=2000)


class RejectBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class CompleteBody(_Body):
    resolution: Resolution
    note: str = Field(default="", max_length=2000)
    received_by: str | None = Field(default=None, min_length=1, max_length=200)


class WaiveBody(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class CloseBody(_Body):
    note: str = Field(default="", max_length=2000)
