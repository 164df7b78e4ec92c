"""The audit trail: who did what to whom, before and after, and why.

Each record carries the SHA-256 of the previous one, so editing or deleting
any row breaks the chain from that point on (8.15: logs are protected from
tampering). Secrets never enter a record: ``redact`` runs on every
before/after mapping.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64
MIN_RETENTION_DAYS = 90  # 8.15: at least three months
_SECRET_WORDS = ("password", "secret", "token", "unicodepwd", "otp", "credential")


@dataclass(eq=False)
class AuditRecord:
    actor: str
    action: str
    target: str
    at: datetime
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reason: str = ""
    prev_hash: str = GENESIS_HASH
    hash: str = ""
    seq: int | None = None

    def canonical(self) -> bytes:
        body = {
            "seq": self.seq,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "at": self.at.isoformat(timespec="microseconds"),
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "prev": self.prev_hash,
        }
        return json.dumps(
            body, sort_keys=True, ensure_ascii=False, default=str
        ).encode()

    def seal(self, seq: int, prev_hash: str) -> None:
        """Give the record its place in the chain."""
        self.seq = seq
        self.prev_hash = prev_hash
        self.hash = hashlib.sha256(self.canonical()).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


@dataclass
class ChainReport:
    checked: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)
    last_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify_chain(
    records: Iterable[AuditRecord],
    *,
    anchor_seq: int = 0,
    anchor_hash: str = GENESIS_HASH,
) -> ChainReport:
    """Walk the records in ``seq`` order and report every edit or gap.

    ``anchor_*`` is where the retained part of the chain starts once older
    records have been pruned after the retention period.
    """
    report = ChainReport(last_hash=anchor_hash)
    expected_seq = anchor_seq + 1
    for record in records:
        report.checked += 1
        seq = record.seq or 0
        if seq != expected_seq:
            report.breaks.append(
                ChainBreak(seq, f"records {expected_seq}..{seq - 1} are missing")
            )
        elif record.prev_hash != report.last_hash:
            report.breaks.append(ChainBreak(seq, "does not follow the previous record"))
        if hashlib.sha256(record.canonical()).hexdigest() != record.hash:
            report.breaks.append(ChainBreak(seq, "was edited after it was written"))
        report.last_hash = record.hash
        expected_seq = seq + 1
    return report


def redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Drop anything that looks like a secret before it reaches the trail."""
    if values is None:
        return None
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if any(word in key.lower() for word in _SECRET_WORDS):
            clean[key] = "[redacted]"
        elif isinstance(value, Mapping):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean
