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

from connectors.base import Capability
from iam_service.domain.model import Person
from iam_service.domain.offboarding import ItemKind, ItemStatus, Resolution
from iam_service.domain.operations import Operation, OperationKind, Priority
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    AccountSource,
    Handover,
    HandoverTrigger,
    PrivilegedAccount,
    Rotation,
    RotationKind,
    leaves_admin_position,
)
from iam_service.services.privileged_custody import add_custodian, end_custodianship
from iam_service.services.privileged_views import target
from iam_service.services.provisioning import Systems
from iam_service.services.unit_of_work import UnitOfWork


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


def tick_off_case_items(uow: UnitOfWork, handover: Handover) -> int:
    """A finished handover of a leaver (5.18): the offboarding case's
    custodian-handover items of its accounts are done, received by the
    successor. Returns how many were ticked off."""
    outgoing = uow.persons.by_employee_id(handover.outgoing_employee_id or "")
    if outgoing is None or outgoing.id is None or not handover.successor_employee_id:
        return 0
    refs = {
        f"privileged:{r.account_id}" for r in uow.handovers.rotations(handover.id or 0)
    }
    done = 0
    for case in uow.offboarding.for_person(outgoing.id):
        for item in uow.offboarding.items(case.id or 0):
            if (
                item.kind is ItemKind.CUSTODIAN_HANDOVER
                and item.status is ItemStatus.OPEN
                and item.reference in refs
            ):
                item.complete(
                    Resolution.HANDED_OVER,
                    "system:handover",
                    uow.clock.now(),
                    note=f"handover {handover.id}: password changed and collected",
                    received_by=handover.successor_employee_id,
                )
                uow.record(
                    "system:handover",
                    "offboarding.item_done",
                    f"offboarding_case:{case.id}",
                    after={"item": item.id, "reference": item.reference},
                    reason=handover_target(handover),
                )
                done += 1
    return done
