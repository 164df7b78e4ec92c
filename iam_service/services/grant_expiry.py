"""The expiry job: grants whose end has passed are removed (8.18, 5.18).

Every minute the scheduler runs ``expire_grants``. For each person holding
an active grant whose ``expires_at`` has passed (an access request's end
date, an elevation's hours), in one transaction per person:

* the grant becomes ``removed``, audited as ``grant.expired``;
* the group removal is queued through the ``Provisioner``, only for what no
  other effective grant still gives (a birthright or a newer request for the
  same entitlement keeps it); elevations are removed at ``ELEVATED``
  priority and their record marked expired.

What is due is read from the grants table each time, so a restart, a
missed minute or a second replica changes nothing: a grant is removed by
the first run that sees it, and its operations carry an idempotency key
(``grant-expiry:<first grant id>``). The scheduler's advisory lock keeps
two replicas from running it together; the person's row lock (PostgreSQL)
keeps it from crossing an HR event for the same person.
"""

from __future__ import annotations

from collections.abc import Sequence

from iam_service.domain.entitlements import effective_entitlements
from iam_service.domain.model import Grant, GrantSource, GrantStatus
from iam_service.domain.operations import Priority
from iam_service.services import elevations
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

ACTOR = "scheduler"
_BATCH = 200  # expired grants read per round


def expire_grants(uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> int:
    """Remove every grant whose end has passed; returns how many."""
    removed = 0
    done: set[int] = set()
    while True:
        with uow_factory() as uow:
            due = list(uow.grants.expired(uow.clock.now(), _BATCH))
        people = sorted({g.person_id for g in due} - done)
        if not people:
            return removed
        for person_id in people:
            with uow_factory() as uow:
                removed += _expire_for(uow, person_id, ctx)
                uow.commit()
            done.add(person_id)


def _expire_for(uow: UnitOfWork, person_id: int, ctx: LifecycleContext) -> int:
    stored = uow.persons.get(person_id)
    if stored is None:
        return 0
    person = uow.persons.by_employee_id(stored.employee_id, lock=True) or stored
    now = uow.clock.now()
    active = uow.grants.active_for_person(person_id)
    due = [g for g in active if g.expires_at is not None and g.expires_at <= now]
    if not due:
        return 0  # another run got there first
    # What the systems hold now: every active grant, the expired ones included
    # (their membership has not been removed yet).
    before = {g.entitlement_ref for g in active}
    policy = ctx.policy()
    provisioner = Provisioner(
        uow, policy, ctx.systems, actor=ACTOR, cause=f"grant-expiry:{due[0].id}"
    )
    for grant in due:
        _remove(uow, grant)
        if grant.source is GrantSource.ELEVATION:
            elevations.expired(uow, grant, ACTOR)
    uow.flush()
    after = set(effective_entitlements(uow.grants.active_for_person(person_id), now))
    provisioner.sync_memberships(person, before, after, priority=_priority(due))
    return len(due)


def _remove(uow: UnitOfWork, grant: Grant) -> None:
    now = uow.clock.now()
    grant.status, grant.removed_at = GrantStatus.REMOVED, now
    person = uow.persons.get(grant.person_id)
    uow.record(
        ACTOR,
        "grant.expired",
        f"person:{person.employee_id if person else grant.person_id}",
        before={
            "entitlement": grant.entitlement_ref,
            "source": str(grant.source),
            "source_ref": grant.source_ref,
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        },
        after={"status": str(grant.status)},
        reason="its end date has passed",
    )


def _priority(due: Sequence[Grant]) -> int:
    # 8.2: a privileged right outliving its time is the urgent case.
    if any(g.source is GrantSource.ELEVATION for g in due):
        return Priority.ELEVATED
    return Priority.NORMAL
