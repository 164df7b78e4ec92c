"""The custodian hook: which privileged accounts a leaver looks after.

5.18: when a custodian of privileged accounts (the security officer or
another administrator) leaves, the custodianship is handed over and the
admin passwords of file servers and the like are changed promptly. The
offboarding case adds one ``custodian_handover`` item per custodianship.

The privileged-account inventory (8.2) is another part of the service; it
plugs in here by implementing ``CustodianLookup`` and passing it to
``LifecycleContext(custodians=...)`` in ``bootstrap.py``. Until then
``NoCustodianships`` answers that nobody is a custodian of anything.

Contract: ``custodianships`` runs inside the termination's transaction with
its unit of work, reads only, and must not commit or call a connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from iam_service.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Custodianship:
    """A privileged account someone answers for.

    ``ref`` is stable and unique in the inventory (e.g. ``privileged:17``);
    ``system_key`` and ``account`` say which account; ``description`` is
    shown in the checklist (e.g. "file server fs01 local Administrator")."""

    ref: str
    system_key: str
    account: str
    description: str = ""


class CustodianLookup(Protocol):
    def custodianships(self, uow: UnitOfWork, employee_id: str) -> list[Custodianship]:
        """The privileged accounts ``employee_id`` is custodian of."""
        ...


class NoCustodianships:
    """The default: no inventory connected, nobody is a custodian."""

    def custodianships(
        self,
        uow: UnitOfWork,  # noqa: ARG002 - the protocol's signature
        employee_id: str,  # noqa: ARG002
    ) -> list[Custodianship]:
        return []
