"""Records the service keeps about its inputs: HR events and notices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(eq=False)
class HrEventRecord:
    """An HR event as received, with the result returned to the sender.

    The same ``event_id`` again returns ``result`` unchanged (idempotency).
    """

    event_id: str
    type: str
    employee_id: str
    received_at: datetime
    effective_at: datetime
    status: str
    payload: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    source: str = "api"
    id: int | None = None


@dataclass(eq=False)
class Notice:
    """Something a human must look at, e.g. a department no policy knows."""

    kind: str
    subject: str
    detail: str
    audience: str  # a role
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    id: int | None = None
