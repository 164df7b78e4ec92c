"""The handover use cases (5.18): a security officer starts one, names the
successor of a termination or transfer, or rotates one account now; and
the views of handovers. The planning itself is ``services/handover.py``.
Each method is one transaction; bad input writes nothing (a terminated
successor, an account not in the inventory: 4xx).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iam_service.domain.privileged import Handover, HandoverTrigger, PrivilegedAccount
from iam_service.domain.privileged_requests import (
    HandoverCreate,
    RotationCreate,
    SuccessorUpdate,
)
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, InvalidInput, NotFoundError
from iam_service.services.handover import begin, handover_target, plan_rotation
from iam_service.services.privileged_custody import add_custodian
from iam_service.services.privileged_views import active_person, require_account
from iam_service.services.provisioning import Systems
from iam_service.services.rotation_views import handover_view
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# Announces a named successor (services/privileged_jobs.py); never a password.
Announce = Callable[[UnitOfWork, Handover], None]


class Handovers:
    """Use cases: start, name a successor, rotate one account, read."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        systems: Systems,
        announce: Announce | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.systems = systems
        self.announce = announce

    def start(self, body: HandoverCreate, who: Principal) -> dict[str, Any]:
        """(a) A security officer hands ``outgoing``'s accounts over."""
        with self.uow_factory() as uow:
            if uow.persons.by_employee_id(body.outgoing_employee_id) is None:
                raise NotFoundError(
                    f"no person {body.outgoing_employee_id}", field="outgoing"
                )
            if body.successor_employee_id:
                self._check_successor(
                    uow, body.successor_employee_id, body.outgoing_employee_id
                )
            handover = begin(
                uow,
                self.systems,
                outgoing=body.outgoing_employee_id,
                successor=body.successor_employee_id,
                trigger=HandoverTrigger.CONSOLE,
                actor=who.actor,
                cause=body.reason or f"handover by {who.actor}",
            )
            if handover is None:
                raise ConflictError(
                    f"{body.outgoing_employee_id} is custodian of no privileged "
                    "account: nothing to hand over",
                    field="outgoing",
                )
            self._announce(uow, handover)
            uow.commit()
            return handover_view(uow, handover)

    def name_successor(
        self, handover_id: int, body: SuccessorUpdate, who: Principal
    ) -> dict[str, Any]:
        """Name who takes over after a termination or transfer: they become
        custodian and may collect each new password once."""
        with self.uow_factory() as uow:
            handover = self._get(uow, handover_id)
            if handover.successor_employee_id is not None:
                raise ConflictError(
                    f"handover {handover_id} already went to "
                    f"{handover.successor_employee_id}",
                    field="successor",
                )
            successor = body.successor_employee_id
            self._check_successor(uow, successor, handover.outgoing_employee_id)
            handover.successor_employee_id = successor
            handover.successor_named_at = uow.clock.now()
            why = f"handover {handover.id} ({handover.trigger})"
            for rotation in uow.handovers.rotations(handover_id):
                account = require_account(uow, rotation.account_id)
                add_custodian(uow, account, successor, who.actor, why)
                if rotation.recipient_employee_id is None:
                    rotation.recipient_employee_id = successor
            uow.record(
                who.actor,
                "privileged.successor_named",
                handover_target(handover),
                after={"successor": successor},
            )
            self._announce(uow, handover)
            uow.commit()
            return handover_view(uow, handover)

    def rotate_account(
        self, account_id: int, body: RotationCreate, who: Principal
    ) -> dict[str, Any]:
        """Rotate one inventory account now; the password goes to the named
        recipient or the account's first custodian."""
        with self.uow_factory() as uow:
            account = require_account(uow, account_id)
            if not account.present:
                raise ConflictError(
                    f"{account.label()} is no longer privileged (not found by the "
                    "last discovery)",
                    field="account",
                )
            recipient = body.recipient_employee_id or _first_custodian(uow, account)
            if recipient is None:
                raise InvalidInput(
                    f"{account.label()} has no custodian: name a recipient",
                    field="recipient_employee_id",
                )
            active_person(uow, recipient, "recipient")
            handover = Handover(
                outgoing_employee_id=None,
                trigger=HandoverTrigger.CONSOLE,
                started_by=who.actor,
                started_at=uow.clock.now(),
                cause=body.reason or f"rotation by {who.actor}",
                successor_employee_id=recipient,
                successor_named_at=uow.clock.now(),
            )
            uow.handovers.add(handover)
            uow.flush()
            add_custodian(uow, account, recipient, who.actor, "receives the rotation")
            plan_rotation(
                uow,
                self.systems,
                account,
                handover,
                recipient,
                who.actor,
                handover.cause,
            )
            self._announce(uow, handover)
            uow.commit()
            return handover_view(uow, handover)

    def view(self, handover_id: int) -> dict[str, Any]:
        with self.uow_factory() as uow:
            return handover_view(uow, self._get(uow, handover_id))

    def recent(self) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [handover_view(uow, h) for h in uow.handovers.recent()]

    def for_successor(self, employee_id: str) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            return [
                handover_view(uow, h) for h in uow.handovers.for_successor(employee_id)
            ]

    @staticmethod
    def _get(uow: UnitOfWork, handover_id: int) -> Handover:
        handover = uow.handovers.get(handover_id)
        if handover is None:
            raise NotFoundError(f"no handover {handover_id}")
        return handover

    @staticmethod
    def _check_successor(uow: UnitOfWork, successor: str, outgoing: str | None) -> None:
        if successor == outgoing:
            raise InvalidInput(
                "the successor must be someone other than the outgoing custodian",
                field="successor",
            )
        active_person(uow, successor, "successor")

    def _announce(self, uow: UnitOfWork, handover: Handover) -> None:
        if self.announce is not None and handover.successor_employee_id:
            self.announce(uow, handover)


def _first_custodian(uow: UnitOfWork, account: PrivilegedAccount) -> str | None:
    active = [c for c in uow.privileged.custodians([account.id or 0]) if c.active]
    return active[0].employee_id if active else None
