"""Handovers of privileged accounts and the rotation of their passwords (5.18).

A handover starts in one of three ways, always through ``begin`` inside a
unit of work:

* **console**: a security officer hands an outgoing custodian's accounts to
  a successor (``Handovers.start``);
* **termination**: ``lifecycle.terminate`` calls ``PrivilegedHooks.on_terminated``
  in the termination's own transaction;
* **transfer**: HR intake calls ``PrivilegedHooks.on_moved`` after a mover
  event; the rule (``domain.privileged.leaves_admin_position``): the
  custodian held an admin position (a department or title listed under
  ``privileged.admin_positions`` in the policy) and the new position is
  none.

The plan is every account the outgoing person was custodian of: their
custodianship ends, the successor (if named yet) becomes custodian, and
one rotation per account is written. Accounts in connected systems that
can set passwords get a ROTATE_PASSWORD operation (the worker generates,
stores, sets and verifies: ``rotation_step``); accounts of manual systems
get a task for the recipient, whose password is generated when they open
the one-time link (``secret_links``). Terminations and transfers rotate
at once and wait for a successor to be named; nothing waits for a person
before the passwords change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.base import Capability
from iam_service.domain.model import Person
from iam_service.domain.operations import Operation, OperationKind, Priority
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    AccountSource,
    Handover,
    HandoverCreate,
    HandoverTrigger,
    PrivilegedAccount,
    Rotation,
    RotationCreate,
    RotationKind,
    SuccessorUpdate,
    leaves_admin_position,
)
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, InvalidInput, NotFoundError
from iam_service.services.privileged_inventory import (
    active_person,
    add_custodian,
    end_custodianship,
    require_account,
    target,
)
from iam_service.services.provisioning import Systems
from iam_service.services.rotation_views import handover_view
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# Announces a named successor (services/notifications.py); never a password.
Announce = Callable[[UnitOfWork, Handover], None]


def handover_target(handover: Handover) -> str:
    return f"handover:{handover.id}"


def begin(
    uow: UnitOfWork,
    systems: Systems,
    *,
    outgoing: str,
    successor: str | None,
    trigger: HandoverTrigger,
    actor: str,
    cause: str,
) -> Handover | None:
    """Plan and queue the handover of everything ``outgoing`` looks after;
    None when they look after nothing. Writes in ``uow``, never commits."""
    accounts = [
        a
        for c in uow.privileged.custodianships_of(outgoing)
        if (a := uow.privileged.get(c.account_id)) is not None and a.present
    ]
    if not accounts:
        return None
    handover = Handover(
        outgoing_employee_id=outgoing,
        trigger=trigger,
        started_by=actor,
        started_at=uow.clock.now(),
        cause=cause,
        successor_employee_id=successor,
        successor_named_at=uow.clock.now() if successor else None,
    )
    uow.handovers.add(handover)
    uow.flush()
    why = f"handover {handover.id} ({trigger})"
    for account in accounts:
        end_custodianship(uow, account, outgoing, actor, why)
        if successor:
            add_custodian(uow, account, successor, actor, why)
        plan_rotation(uow, systems, account, handover, successor, actor, cause)
    uow.record(
        actor,
        "privileged.handover_started",
        handover_target(handover),
        after={
            "outgoing": outgoing,
            "successor": successor,
            "trigger": str(trigger),
            "accounts": [target(a) for a in accounts],
        },
        reason=cause,
    )
    return handover


def plan_rotation(
    uow: UnitOfWork,
    systems: Systems,
    account: PrivilegedAccount,
    handover: Handover,
    recipient: str | None,
    actor: str,
    cause: str,
) -> Rotation:
    """One rotation of ``account``: queued for the worker where the system
    can set passwords, else a task for the recipient (a manual system)."""
    automatic = (
        account.source is AccountSource.DISCOVERED
        and account.native_id is not None
        and systems.can(account.system_key, Capability.PASSWORD)
    )
    earlier = list(uow.handovers.rotations_of(account.id or 0))
    rotation = Rotation(
        account_id=account.id or 0,
        kind=RotationKind.AUTOMATIC if automatic else RotationKind.MANUAL,
        created_at=uow.clock.now(),
        handover_id=handover.id,
        recipient_employee_id=recipient,
    )
    uow.handovers.add(rotation)
    uow.flush()
    if automatic:
        # The last password we generated, if nobody has seen it yet, is the
        # old one the worker can test: it must stop binding (rotation_step).
        unseen = [
            r for r in earlier if r.kind is RotationKind.AUTOMATIC and not r.shown_at
        ]
        previous = unseen[-1].secret_ref if unseen else None
        operation = uow.enqueue(
            Operation(
                idempotency_key=f"rotate:{rotation.id}",
                system_key=account.system_key,
                account_key=f"privileged:{account.id}",
                kind=OperationKind.ROTATE_PASSWORD,
                payload={
                    "rotation_id": rotation.id,
                    "native_id": account.native_id,
                    "username": account.username,
                    "store_ref": rotation.secret_ref,
                    "previous_ref": previous,
                },
                priority=Priority.ELEVATED,  # 5.18: "promptly"
                cause=cause,
            )
        )
        uow.flush()
        rotation.operation_id = operation.id
    uow.record(
        actor,
        "privileged.rotation_planned",
        target(account),
        after={
            "rotation": rotation.id,
            "handover": handover.id,
            "kind": str(rotation.kind),
            "recipient": recipient,
            "operation": rotation.operation_id,
        },
        reason=cause,
    )
    return rotation


class PrivilegedHooks:
    """What the lifecycle calls in its own transactions (termination, move)."""

    def __init__(self, policy: Callable[[], Policy], systems: Systems) -> None:
        self.policy = policy
        self.systems = systems

    def on_terminated(
        self, uow: UnitOfWork, person: Person, *, actor: str, cause: str
    ) -> None:
        """5.18: a leaving custodian's credentials change at once; the
        security officer names the successor who then collects them."""
        begin(
            uow,
            self.systems,
            outgoing=person.employee_id,
            successor=None,
            trigger=HandoverTrigger.TERMINATION,
            actor=actor,
            cause=cause,
        )

    def on_moved(
        self,
        uow: UnitOfWork,
        person: Person,
        before: tuple[str, str],
        *,
        actor: str,
        cause: str,
    ) -> None:
        """5.18: a custodian moving out of an admin position hands over.
        ``before`` is the old (department, title)."""
        positions = self.policy().privileged.admin_positions
        after = (person.department_code, person.title)
        if leaves_admin_position(positions, before, after):
            begin(
                uow,
                self.systems,
                outgoing=person.employee_id,
                successor=None,
                trigger=HandoverTrigger.TRANSFER,
                actor=actor,
                cause=cause,
            )


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
