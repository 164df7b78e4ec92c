"""Reading one row to change it: held until the transaction ends.

On PostgreSQL ``lock=True`` adds ``FOR UPDATE``, so two changes to the same
row (two decisions on one request, two updates of one person) apply one
after the other. SQLite serialises writers by itself and has no row locks.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")


def one_or_none(session: Session, query: Select[T], *, lock: bool) -> T | None:
    """The one row ``query`` selects, or None; locked where ``lock`` asks."""
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()
