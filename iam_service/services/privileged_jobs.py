"""Periodic work on the privileged inventory, and its e-mails.

* ``PrivilegedMail.digest``: once a day, the flagged accounts (8.2: no
  approval; owner or custodian left; possibly stale; rotation due) go to
  the security officers. The outbox key holds the date, so a job that runs
  every hour mails once a day.
* ``PrivilegedMail.announce``: a named successor learns that passwords wait
  for them, with the handover page's address: never a password (5.17).
* ``rotate_due``: scheduled rotation (``rotate_every_days`` per policy) goes
  the handover's way: one rotation per due account, to its first custodian.
* ``purge_secrets``: secrets left in the store after they were shown or
  superseded (a crash between the two steps) are destroyed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iam_service.domain.policy import Policy
from iam_service.domain.privileged import Handover, HandoverTrigger
from iam_service.services.handover import handover_target, plan_rotation
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.privileged_inventory import InventoryViews
from iam_service.services.provisioning import Systems
from iam_service.services.rotation_views import SUPERSEDED, rotation_state
from iam_service.services.secret_vault import SecretStore
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

DIGEST_TEMPLATE = "privileged_digest"
HANDOVER_TEMPLATE = "privileged_handover"
HANDOVER_PAGE = "/console/privileged/handovers/"


class PrivilegedMail:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        policy: Callable[[], Policy],
        outbox: MailOutbox,
        recipients: RecipientDirectory,
        *,
        company: str,
        base_url: str | None,
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy
        self.outbox = outbox
        self.recipients = recipients
        self.company = company
        self.base_url = (base_url or "").rstrip("/")

    def digest(self) -> int:
        """Queue today's list of flagged accounts; returns how many."""
        officers = self.recipients.security_officers()
        with self.uow_factory() as uow:
            views = InventoryViews(uow, self.policy()).many(uow.privileged.all())
            flagged = [v for v in views if v["flags"]]
            if not flagged or not officers:
                return 0
            day = uow.clock.now().date().isoformat()
            self.outbox.queue(
                uow,
                key=f"privileged-digest:{day}",
                template=DIGEST_TEMPLATE,
                recipients=officers,
                context={
                    "company": self.company,
                    "day": day,
                    "total": len(views),
                    "accounts": [_line(v) for v in flagged],
                    "page_url": f"{self.base_url}/console/privileged",
                },
                subject_ref="privileged:digest",
            )
            uow.commit()
            return len(flagged)

    def announce(self, uow: UnitOfWork, handover: Handover) -> None:
        """Tell the successor where to collect; in the caller's transaction."""
        successor = uow.persons.by_employee_id(handover.successor_employee_id or "")
        if successor is None or not successor.email:
            return
        rotations = uow.handovers.rotations(handover.id or 0)
        self.outbox.queue(
            uow,
            key=f"privileged-handover:{handover.id}:{successor.employee_id}",
            template=HANDOVER_TEMPLATE,
            recipients=[self.recipients.person(successor)],
            context={
                "company": self.company,
                "name": successor.display_name,
                "handover_id": handover.id,
                "outgoing": handover.outgoing_employee_id or "",
                "count": len(rotations),
                "page_url": f"{self.base_url}{HANDOVER_PAGE}{handover.id}",
            },
            subject_ref=handover_target(handover),
        )


def _line(view: dict[str, Any]) -> dict[str, Any]:
    owner = view["owner"]["person"] or {}
    return {
        "system": view["system"],
        "username": view["username"],
        "flags": view["flags"],
        "owner": owner.get("employee_id") or "-",
    }


def rotate_due(
    uow_factory: UnitOfWorkFactory, policy: Callable[[], Policy], systems: Systems
) -> int:
    """Plan a rotation for each account whose period ran out (5.17, 5.18)."""
    with uow_factory() as uow:
        now, rules = uow.clock.now(), policy().privileged
        accounts = uow.privileged.all()
        rotated = uow.handovers.last_rotated([a.id or 0 for a in accounts])
        due = []
        for account in accounts:
            period = rules.rotation_period(account.system_key)
            if period is None:
                continue
            planned = [
                r.created_at for r in uow.handovers.rotations_of(account.id or 0)
            ]
            times = [
                t
                for t in (rotated.get(account.id or 0), account.first_seen_at, *planned)
                if t
            ]
            if times and now - max(times) < period:
                continue
            custodians = [
                c for c in uow.privileged.custodians([account.id or 0]) if c.active
            ]
            if custodians:  # nobody to receive it: the digest flags it instead
                due.append((account, custodians[0].employee_id))
        if not due:
            return 0
        cause = f"scheduled rotation {now.date().isoformat()}"
        handover = Handover(
            outgoing_employee_id=None,
            trigger=HandoverTrigger.SCHEDULED,
            started_by="scheduler",
            started_at=now,
            cause=cause,
        )
        uow.handovers.add(handover)
        uow.flush()
        for account, recipient in due:
            plan_rotation(
                uow, systems, account, handover, recipient, "scheduler", cause
            )
        uow.record(
            "scheduler",
            "privileged.rotation_scheduled",
            handover_target(handover),
            after={"accounts": [a.id for a, _ in due]},
            reason=cause,
        )
        uow.commit()
        return len(due)


def purge_secrets(uow_factory: UnitOfWorkFactory, store: SecretStore) -> int:
    """Destroy secrets of rotations already shown or superseded."""
    refs: Callable[[], list[str]] | None = getattr(store, "refs", None)
    if refs is None:  # an external store: destroy() already ran inline
        return 0
    purged = 0
    for ref in refs():
        rotation_id = ref.removeprefix("rotation-")
        if not rotation_id.isdigit():
            continue
        with uow_factory() as uow:
            rotation = uow.handovers.rotation(int(rotation_id))
            stale = rotation is None or rotation_state(uow, rotation) in (
                "shown",
                SUPERSEDED,
            )
        if stale:
            store.destroy(ref)
            purged += 1
    return purged
