"""Movers (5.18): what a transfer does beyond the new birthright.

HR intake swaps the birthright at once. Requested grants that break an SoD
rule with the new birthright end at once (5.3). Then ``on_transfer``:

* withdraws the person's pending access requests (they were the old
  department's business; ask again in the new one);
* puts every grant the person holds on request before the *new* department
  head, due in ``settings.mover_review_days`` days (a notice tells the head);
* closes reviews a previous transfer left open.

The head keeps or removes each (``MoverReviews.decide``); the scheduled job
``remove_undecided`` removes, through the queue and audited, what nobody
decided in time. A leaver's pending requests and open reviews are settled
the same way (``settle``), their grants having gone with the termination.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from iam_service.domain.access import RequestStatus
from iam_service.domain.model import GrantSource, Person
from iam_service.domain.movers import MoverDecision, MoverReview, MoverReviewStatus
from iam_service.domain.policy import Policy
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.access_grants import close
from iam_service.services.access_views import READ_ALL
from iam_service.services.auth import Principal
from iam_service.services.errors import (
    ConflictError,
    Forbidden,
    NotFoundError,
    SegregationOfDutiesError,
)
from iam_service.services.provisioning import Provisioner
from iam_service.services.segregation import end_conflicting_requests
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from iam_service.services.lifecycle import LifecycleContext


def settle(uow: UnitOfWork, person: Person, *, actor: str, why: str) -> None:
    """Withdraw the person's pending requests and close their open reviews."""
    for request in uow.access_requests.find(
        status=RequestStatus.PENDING, person_id=person.id
    ):
        close(uow, request, actor, RequestStatus.CANCELLED, why)
    for review in uow.mover_reviews.open_for_person(person.id or 0):
        _close(uow, review, MoverReviewStatus.CLOSED, actor, why)


def after_move(
    uow: UnitOfWork,
    person: Person,
    old_department: str,
    ctx: LifecycleContext,
    *,
    actor: str,
    cause: str,
) -> None:
    """Called by HR intake once a department, title or employment type
    change has swapped the birthright: requested grants that now break an
    SoD rule with it end at once (5.3); after a department change the rest
    go before the new head."""
    policy = ctx.policy()
    end_conflicting_requests(
        uow, person, policy, ctx.systems, actor=actor, cause=f"{cause}:sod"
    )
    if person.department_code != old_department:
        on_transfer(uow, person, old_department, policy, actor=actor, cause=cause)


def on_transfer(
    uow: UnitOfWork,
    person: Person,
    old_department: str,
    policy: Policy,
    *,
    actor: str,
    cause: str,
) -> list[MoverReview]:
    """Flag the requested grants for the new department head."""
    new = person.department_code
    settle(uow, person, actor=actor, why=f"moved to {new}")
    now = uow.clock.now()
    due = now + timedelta(days=policy.settings.mover_review_days)
    reviews = []
    for grant in uow.grants.active_for_person(person.id or 0):
        if grant.source is not GrantSource.REQUEST or not grant.is_effective(now):
            continue
        review = MoverReview(
            person_id=person.id or 0,
            employee_id=person.employee_id,
            grant_id=grant.id or 0,
            entitlement_ref=grant.entitlement_ref,
            from_department=old_department,
            to_department=new,
            created_at=now,
            due_at=due,
            cause=cause,
        )
        uow.mover_reviews.add(review)
        reviews.append(review)
    uow.flush()
    for review in reviews:
        uow.record(
            actor,
            "mover_review.opened",
            f"person:{person.employee_id}",
            after=review_view(review),
            reason=cause,
        )
    if reviews:
        uow.notices.add(
            Notice(
                kind="mover_review",
                subject=f"department:{new}",
                detail=(
                    f"{person.employee_id} moved from {old_department} to {new} "
                    f"holding {len(reviews)} requested grant(s). Keep or remove each "
                    f"by {due:%Y-%m-%d %H:%M} UTC; undecided ones are removed (5.18)."
                ),
                audience=Role.DEPARTMENT_HEAD,
                created_at=now,
            )
        )
    return reviews


class MoverReviews:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def find(
        self, who: Principal, status: MoverReviewStatus | None = None
    ) -> list[dict[str, Any]]:
        """Readers see all; a department head their departments' reviews."""
        with self.uow_factory() as uow:
            departments = None
            if not who.has(*READ_ALL):
                departments = uow.departments.headed_by(who.employee_id or "")
            found = uow.mover_reviews.find(status=status, departments=departments)
            return [review_view(r) for r in found]

    def decide(
        self, review_id: int, decision: MoverDecision, who: Principal, reason: str
    ) -> dict[str, Any]:
        """Keep or remove one grant (the new department head, 5.18)."""
        policy = self.ctx.policy()
        with self.uow_factory() as uow:
            review = uow.mover_reviews.get(review_id, lock=True)
            if review is None:
                raise NotFoundError(f"no mover review {review_id}")
            if review.status is not MoverReviewStatus.OPEN:
                raise ConflictError(f"mover review {review_id} is {review.status}")
            heads = uow.departments.headed_by(who.employee_id or "")
            if who.employee_id is None or review.to_department not in heads:
                raise Forbidden(
                    f"this is decided by the head of {review.to_department} (5.18)"
                )
            if who.employee_id == review.employee_id:
                raise SegregationOfDutiesError("nobody reviews their own access (5.3)")
            if decision is MoverDecision.KEEP:
                _close(uow, review, MoverReviewStatus.KEPT, who.actor, reason)
            else:
                _remove(uow, review, policy, self.ctx, who.actor, reason)
                _close(uow, review, MoverReviewStatus.REMOVED, who.actor, reason)
            uow.commit()
            return review_view(review)


def remove_undecided(uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> int:
    """The scheduled job: remove what no head decided by the deadline."""
    removed = 0
    policy = ctx.policy()
    with uow_factory() as uow:
        for review in uow.mover_reviews.due(uow.clock.now()):
            why = f"not decided by {review.due_at:%Y-%m-%d %H:%M} UTC"
            if _remove(uow, review, policy, ctx, "scheduler", why):
                _close(uow, review, MoverReviewStatus.EXPIRED, "scheduler", why)
                removed += 1
            else:
                _close(uow, review, MoverReviewStatus.CLOSED, "scheduler", "ended")
        uow.commit()
    return removed


def _remove(
    uow: UnitOfWork,
    review: MoverReview,
    policy: Policy,
    ctx: LifecycleContext,
    actor: str,
    why: str,
) -> bool:
    """End the grant and queue what that changes; False if it had ended."""
    grant = uow.grants.get(review.grant_id)
    person = uow.persons.get(review.person_id)
    now = uow.clock.now()
    if grant is None or person is None or not grant.is_effective(now):
        return False
    provisioner = Provisioner(
        uow, policy, ctx.systems, actor=actor, cause=f"mover-review:{review.id}"
    )
    before = provisioner.held_refs(person)
    provisioner.remove_grant(person, grant, f"transfer review: {why}")
    uow.flush()
    provisioner.sync_memberships(person, before, provisioner.held_refs(person))
    return True


def _close(
    uow: UnitOfWork,
    review: MoverReview,
    status: MoverReviewStatus,
    actor: str,
    reason: str,
) -> None:
    review.status, review.reason = status, reason
    review.decided_by, review.decided_at = actor, uow.clock.now()
    uow.record(
        actor,
        f"mover_review.{status}",
        f"person:{review.employee_id}",
        after=review_view(review),
        reason=reason,
    )


def review_view(r: MoverReview) -> dict[str, Any]:
    return {
        "id": r.id,
        "employee_id": r.employee_id,
        "grant_id": r.grant_id,
        "entitlement": r.entitlement_ref,
        "from_department": r.from_department,
        "to_department": r.to_department,
        "status": str(r.status),
        "created_at": r.created_at.isoformat(),
        "due_at": r.due_at.isoformat(),
        "decided_by": r.decided_by,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "reason": r.reason,
    }
