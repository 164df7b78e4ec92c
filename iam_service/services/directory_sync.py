"""Reading a directory's changes incrementally (Graph delta queries).

The link that reads "what changed since last time" is kept per system in the
``connector_state`` table. ``sync_delta`` hands every change to the caller's
``apply`` first and stores the new link only after ``apply`` returned, so a
crash in between reads the same changes again (at least once, never lost).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from connectors.entra_directory import DeltaPage
from iam_service.services.unit_of_work import UnitOfWorkFactory

DELTA_LINK = "users_delta_link"


class DeltaReader(Protocol):
    """A connector that can read changes since a delta link (Entra)."""

    system_id: str

    def delta(self, delta_link: str | None) -> DeltaPage: ...


def stored_delta_link(uow_factory: UnitOfWorkFactory, system_key: str) -> str | None:
    with uow_factory() as uow:
        value = uow.connector_state.get(system_key, DELTA_LINK)
    return value if isinstance(value, str) else None


def sync_delta(
    uow_factory: UnitOfWorkFactory,
    reader: DeltaReader,
    apply: Callable[[DeltaPage], None],
    *,
    system_key: str | None = None,
) -> DeltaPage:
    """Read the changes since the stored link (everything the first time),
    let ``apply`` handle them, then store the next link. Raises the
    connector's error, storing nothing, when the read fails."""
    key = system_key or reader.system_id
    page = reader.delta(stored_delta_link(uow_factory, key))
    apply(page)
    with uow_factory() as uow:
        uow.connector_state.put(key, DELTA_LINK, page.delta_link, uow.clock.now())
        uow.commit()
    return page
