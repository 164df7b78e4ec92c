"""Request bodies that several routers share: a decision's reason."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ApproveBody(BaseModel):
    """An approval, with an optional reason kept in the audit trail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(default="", max_length=2000)


class ReasonBody(BaseModel):
    """Why: required (a rejection, a revocation, a ratification), kept in
    the audit trail."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=2000)
