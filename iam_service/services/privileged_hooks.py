"""The lifecycle's hooks into privileged handovers (5.18).

``lifecycle.terminate`` and HR intake's mover path call these inside their
own transaction; ``services.handover.PrivilegedHooks`` implements them
(wired in ``bootstrap.py``). The default does nothing, for contexts built
without the inventory. Contract: write only through the given unit of
work, never commit, never call a connector (the rotations are queued).
"""

from __future__ import annotations

from typing import Protocol

from iam_service.domain.model import Person
from iam_service.services.unit_of_work import UnitOfWork


class CustodianHooks(Protocol):
    def on_terminated(
        self, uow: UnitOfWork, person: Person, *, actor: str, cause: str
    ) -> None:
        """``person`` left: hand over what they look after."""
        ...

    def on_moved(
        self,
        uow: UnitOfWork,
        person: Person,
        before: tuple[str, str],
        *,
        actor: str,
        cause: str,
    ) -> None:
        """``person`` moved from ``before`` (department, title)."""
        ...


class NoCustodianHooks:
    """No inventory connected: nothing to hand over."""

    def on_terminated(
        self,
        uow: UnitOfWork,  # noqa: ARG002 - the protocol's signature
        person: Person,  # noqa: ARG002
        *,
        actor: str,  # noqa: ARG002
        cause: str,  # noqa: ARG002
    ) -> None:
        return None

    def on_moved(
        self,
        uow: UnitOfWork,  # noqa: ARG002 - the protocol's signature
        person: Person,  # noqa: ARG002
        before: tuple[str, str],  # noqa: ARG002
        *,
        actor: str,  # noqa: ARG002
        cause: str,  # noqa: ARG002
    ) -> None:
        return None
