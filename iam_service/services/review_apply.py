"""Applying review revocations through the operation queue (5.18, 8.32).

A revoked item ends its grant and queues what that changes
(``Provisioner.sync_memberships``: a REMOVE_FROM_GROUP unless another grant
still gives the same entitlement), under the cause
``review:<campaign>:<item>``. The worker applies it and reads the account
back; the item shows the operation's verified outcome. Called at sign-off
or at campaign close, as the campaign's policy says.

A revoked *birthright* grant comes back with the next HR change unless the
policy changes, so the system administrators get a notice saying so.
"""

from __future__ import annotations

from collections.abc import Iterable

from iam_service.domain.model import GrantSource, Person
from iam_service.domain.operations import OperationKind
from iam_service.domain.policy import Policy
from iam_service.domain.records import Notice
from iam_service.domain.reviews import ApplyState, ReviewItem
from iam_service.domain.security import Role
from iam_service.services.provisioning import Provisioner, Systems
from iam_service.services.unit_of_work import UnitOfWork


def apply_revocations(
    uow: UnitOfWork,
    items: Iterable[ReviewItem],
    policy: Policy,
    systems: Systems,
    *,
    actor: str,
) -> int:
    """End the grant of each waiting revoked item and queue its removal;
    returns how many operations were queued."""
    queued = 0
    for item in items:
        if item.apply_state is not ApplyState.WAITING:
            continue
        queued += _apply(uow, item, policy, systems, actor)
    return queued


def _apply(
    uow: UnitOfWork, item: ReviewItem, policy: Policy, systems: Systems, actor: str
) -> int:
    now = uow.clock.now()
    item.applied_at = now
    grant = uow.grants.get(item.grant_id)
    person = uow.persons.get(item.person_id)
    if grant is None or person is None or not grant.is_effective(now):
        item.apply_state = ApplyState.ALREADY_ENDED
        item.apply_note = "the grant had already ended"
        return 0
    provisioner = Provisioner(
        uow,
        policy,
        systems,
        actor=actor,
        cause=f"review:{item.campaign_id}:{item.id}",
    )
    before = provisioner.held_refs(person)
    provisioner.remove_grant(
        person, grant, f"access review {item.campaign_id}: {item.comment}"
    )
    uow.flush()
    provisioner.sync_memberships(person, before, provisioner.held_refs(person))
    uow.flush()  # the operation's id, for the item
    removal = next(
        (op for op in provisioner.queued if op.kind is OperationKind.REMOVE_FROM_GROUP),
        None,
    )
    if removal is not None:
        item.apply_state, item.operation_id = ApplyState.QUEUED, removal.id
    else:
        item.apply_state = ApplyState.NO_CHANGE
        item.apply_note = _why_nothing(uow, person, item)
    if grant.source is GrantSource.BIRTHRIGHT:
        _birthright_notice(uow, person, item)
    uow.record(
        actor,
        "review_item.applied",
        f"person:{person.employee_id}",
        after={
            "item": item.id,
            "campaign": item.campaign_id,
            "entitlement": item.entitlement_ref,
            "state": str(item.apply_state),
            "operation": item.operation_id,
        },
        reason=item.comment,
    )
    return 1 if removal is not None else 0


def _why_nothing(uow: UnitOfWork, person: Person, item: ReviewItem) -> str:
    now = uow.clock.now()
    still = [
        g
        for g in uow.grants.active_for_person(person.id or 0)
        if g.entitlement_ref == item.entitlement_ref and g.is_effective(now)
    ]
    if still:
        sources = ", ".join(sorted({str(g.source) for g in still}))
        return f"still held through another grant ({sources})"
    return f"no account in {item.system_key} to remove it from"


def _birthright_notice(uow: UnitOfWork, person: Person, item: ReviewItem) -> None:
    uow.notices.add(
        Notice(
            kind="review_revoked_birthright",
            subject=f"person:{person.employee_id}",
            detail=(
                f"Access review {item.campaign_id} revoked {item.entitlement_ref} "
                f"from {person.employee_id}, which the birthright policy gives to "
                f"{person.department_code} {person.title!r}. It comes back with the "
                "next HR change unless the policy changes (5.18, 8.3)."
            ),
            audience=Role.SYSADMIN,
            created_at=uow.clock.now(),
        )
    )
