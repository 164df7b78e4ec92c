"""What connectors remember between runs, per system: a Graph delta link, a
SCIM target's discovered capabilities, and the like.

A small generic key-value table: ``(system_key, name) -> value`` (JSON),
with the time it was written. Nothing secret belongs here: no tokens, no
passwords (5.17). The repository never commits; handlers do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String, Table, delete, select, update
from sqlalchemy.orm import Session

from iam_service.adapters import orm

connector_state = Table(
    "connector_state",
    orm.metadata,
    Column("system_key", String(64), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("value", orm.Json, nullable=False),
    Column("updated_at", orm.UtcDateTime, nullable=False),
)


class ConnectorStateRepository:
    """Read and write one system's remembered values."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, system_key: str, name: str) -> Any:
        """The stored value, or None."""
        return self.session.scalar(
            select(connector_state.c.value).where(
                connector_state.c.system_key == system_key,
                connector_state.c.name == name,
            )
        )

    def updated_at(self, system_key: str, name: str) -> datetime | None:
        return self.session.scalar(
            select(connector_state.c.updated_at).where(
                connector_state.c.system_key == system_key,
                connector_state.c.name == name,
            )
        )

    def put(self, system_key: str, name: str, value: Any, now: datetime) -> None:
        """Store ``value`` (anything JSON can hold), replacing the old one."""
        changed = self.session.execute(
            update(connector_state)
            .where(
                connector_state.c.system_key == system_key,
                connector_state.c.name == name,
            )
            .values(value=value, updated_at=now)
        )
        if not getattr(changed, "rowcount", 0):
            self.session.execute(
                connector_state.insert().values(
                    system_key=system_key, name=name, value=value, updated_at=now
                )
            )

    def forget(self, system_key: str, name: str) -> None:
        self.session.execute(
            delete(connector_state).where(
                connector_state.c.system_key == system_key,
                connector_state.c.name == name,
            )
        )
