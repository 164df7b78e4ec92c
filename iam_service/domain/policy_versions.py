"""Policy versions (8.32): a policy change is specified, authorised, recorded.

A version holds the policy files' text, their hash, who proposed it, who
approved it, when, and the plan's summary. One version at a time is
``active``; the service reads its policy from it. A version whose plan
removes access from more than the policy's share of people needs the
security officer, and nobody approves a version they proposed (5.3).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from iam_service.domain.security import Role


class VersionState(enum.StrEnum):
    PROPOSED = "proposed"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


@dataclass(eq=False)
class PolicyVersion:
    content_hash: str
    files: dict[str, str]  # file name -> YAML text
    proposed_by: str
    proposed_at: datetime
    reason: str = ""
    state: VersionState = VersionState.PROPOSED
    diff: dict[str, Any] = field(default_factory=dict)
    needs_security_officer: bool = False
    approved_by: str | None = None
    approver_role: str | None = None
    approved_at: datetime | None = None
    activated_at: datetime | None = None
    decision_reason: str = ""
    id: int | None = None


def content_hash(files: Mapping[str, str]) -> str:
    """SHA-256 over the files' names and text, independent of their order."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for part in (name, files[name]):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class ApprovalRefused(ValueError):
    """This approver may not activate this version; the message says why."""


def check_approver(
    version: PolicyVersion,
    approver: str,
    roles: frozenset[Role],
) -> Role:
    """The role ``approver`` activates ``version`` in, or ``ApprovalRefused``."""
    if version.state is not VersionState.PROPOSED:
        raise ApprovalRefused(f"policy version {version.id} is {version.state}")
    if _person(approver) == _person(version.proposed_by):
        raise ApprovalRefused("nobody approves a policy version they proposed (5.3)")
    if version.needs_security_officer:
        if Role.SECURITY_OFFICER not in roles:
            share = version.diff.get("removal_share", 0)
            raise ApprovalRefused(
                f"this version removes access from {share:.1%} of the people, "
                "more than the policy allows without the security officer (8.32)"
            )
        return Role.SECURITY_OFFICER
    for role in (Role.SYSADMIN, Role.SECURITY_OFFICER):
        if role in roles:
            return role
    raise ApprovalRefused("a policy version is approved by a sysadmin")


def _person(actor: str) -> str:
    # "cli:alice", "token:alice" and "alice" are the same person for 5.3.
    return actor.split(":", 1)[-1].strip().lower()
