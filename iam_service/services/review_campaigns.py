"""Starting access review campaigns (5.18), by the scheduler or by hand.

Contract of ``start`` (one transaction; a refusal writes nothing):

* the definition comes from the policy in force (``access_reviews``); an
  unknown one is 404, a second open campaign of the same definition 409;
* every active grant of every active person in a department in scope, on a
  system and of a classification in scope, becomes one item before the
  department head; a head's own grants go to the head's manager (or the
  security officer), a department without a head to the security officer
  (5.3); privileged grants become a second item before the security
  officer (8.2);
* each item carries its context and recommendation, computed from what the
  tables know: no connector is called (sign-ins come from the
  ``collect_sign_ins`` job's table);
* the items are written set-based (``adapters/review_items_sql.py``).

``start_due`` is the scheduler's job: it starts each scheduled definition
whose latest start has come and has no campaign yet (a unique period key
makes that once across replicas), unless that start is older than the
campaign's due time (a service that was down does not start a stale one).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from secrets import token_hex

from sqlalchemy import delete, exists

from iam_service.adapters.orm_reviews import campaign_reviews, review_items
from iam_service.adapters.review_items_sql import ItemPlan, insert_items
from iam_service.domain.policy import Policy
from iam_service.domain.review_policy import CampaignDef
from iam_service.domain.review_rules import route
from iam_service.domain.reviews import Campaign, CampaignStatus, Review, ReviewerKind
from iam_service.services import review_plan
from iam_service.services.errors import ConflictError, NotFoundError
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


class CampaignStarter:
    def __init__(self, uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> None:
        self.uow_factory = uow_factory
        self.ctx = ctx

    def start(
        self, definition_id: str, actor: str, *, period_key: str | None = None
    ) -> Campaign:
        """Start a campaign of ``definition_id`` now; returns it."""
        policy = self.ctx.policy()
        definition = policy.access_reviews.campaign(definition_id)
        if definition is None:
            raise NotFoundError(f"no review campaign {definition_id!r} in the policy")
        with self.uow_factory() as uow:
            now = uow.clock.now()
            running = [
                c
                for c in uow.campaigns.find(status=CampaignStatus.OPEN)
                if c.definition_id == definition.id
            ]
            if running:
                raise ConflictError(
                    f"campaign {running[0].id} of {definition.id!r} is still open"
                )
            manual = f"{definition.id}:manual:{now.isoformat()}:{token_hex(4)}"
            key = period_key or manual
            if uow.campaigns.by_period(key) is not None:
                raise ConflictError(f"campaign {key} was started already")
            campaign = _new_campaign(uow, policy, definition, actor, key, now)
            plan = _plan(uow, policy, definition, campaign, now)
            campaign.items_total = insert_items(uow.session, plan)
            _drop_empty_reviews(uow, campaign)
            uow.record(
                actor,
                "review_campaign.started",
                f"review_campaign:{campaign.id}",
                after={
                    "definition": definition.id,
                    "items": campaign.items_total,
                    "due_at": campaign.due_at.isoformat(),
                    "scope": definition.scope.model_dump(mode="json"),
                },
                reason="5.18 periodic access review",
            )
            uow.commit()
            return campaign

    def start_due(self) -> list[int]:
        """Start every scheduled campaign whose time has come (the job)."""
        started = []
        policy = self.ctx.policy()
        for definition in policy.access_reviews.campaigns:
            if definition.schedule is None:
                continue
            with self.uow_factory() as uow:
                now = uow.clock.now()
            latest = definition.schedule.latest_start(now, self.ctx.timezone)
            if latest is None or now - latest >= timedelta(days=definition.due_days):
                continue
            key = f"{definition.id}:{latest.isoformat()}"
            with self.uow_factory() as uow:
                if uow.campaigns.by_period(key) is not None:
                    continue
            try:
                started.append(self.start(definition.id, "scheduler", period_key=key))
            except ConflictError:
                continue  # another replica won, or the last one is still open
        return [c.id or 0 for c in started]


def _new_campaign(
    uow: UnitOfWork,
    policy: Policy,
    definition: CampaignDef,
    actor: str,
    key: str,
    now: datetime,
) -> Campaign:
    due = now + timedelta(days=definition.due_days)
    campaign = Campaign(
        definition_id=definition.id,
        name=definition.name,
        name_ja=definition.name_ja,
        period_key=key,
        started_at=now,
        started_by=actor,
        due_at=due,
        closes_at=due + timedelta(days=definition.close_after_due_days),
        definition=definition.model_dump(mode="json"),
        catalogue=review_plan.catalogue(uow, policy, definition),
        inactive_days=policy.access_reviews.recommendations.inactive_days,
    )
    uow.campaigns.add(campaign)
    uow.flush()
    return campaign


def _plan(
    uow: UnitOfWork,
    policy: Policy,
    definition: CampaignDef,
    campaign: Campaign,
    now: datetime,
) -> ItemPlan:
    inactive = campaign.inactive_days
    privileged_review = None
    if definition.reviewers.privileged_by_security_officer:
        privileged_review = _review(
            uow, campaign, ReviewerKind.SECURITY_OFFICER, None, None, "privileged (8.2)"
        )
    return ItemPlan(
        campaign_id=campaign.id or 0,
        now=now,
        inactive_before=now - timedelta(days=inactive),
        catalogue=[
            (ref, ref.split(":", 1)[0], bool(e["privileged"]))
            for ref, e in campaign.catalogue.items()
        ],
        birthright=review_plan.birthright_rows(uow, policy),
        routes=_routes(uow, definition, campaign),
        sod=review_plan.sod_rows(uow, policy, now),
        privileged_review_id=privileged_review,
    )


def _routes(
    uow: UnitOfWork, definition: CampaignDef, campaign: Campaign
) -> list[tuple[str, str | None, int, int]]:
    """One review per department head (and one for each head's own access)."""
    own = definition.reviewers.own_access
    rows = []
    for department in uow.departments.all():
        if not definition.scope.covers_department(department.code):
            continue
        head = department.head_employee_id
        head_person = uow.persons.by_employee_id(head) if head else None
        manager = head_person.manager_employee_id if head_person else None
        members = route("", head, manager, own, department.code)
        review = _review(
            uow,
            campaign,
            members.kind,
            members.employee_id,
            department.code,
            members.note,
        )
        self_review = review
        if head is not None:
            mine = route(head, head, manager, own, department.code)
            self_review = _review(
                uow, campaign, mine.kind, mine.employee_id, department.code, mine.note
            )
        rows.append((department.code, head, review, self_review))
    return rows


def _review(
    uow: UnitOfWork,
    campaign: Campaign,
    kind: ReviewerKind,
    employee_id: str | None,
    department: str | None,
    note: str,
) -> int:
    review = Review(
        campaign_id=campaign.id or 0,
        reviewer_kind=kind,
        reviewer_employee_id=employee_id,
        department_code=department,
        note=note,
        created_at=campaign.started_at,
    )
    uow.reviews.add(review)
    uow.flush()
    return review.id or 0


def _drop_empty_reviews(uow: UnitOfWork, campaign: Campaign) -> None:
    r, i = campaign_reviews, review_items
    uow.session.execute(
        delete(r).where(
            r.c.campaign_id == campaign.id,
            ~exists().where(i.c.review_id == r.c.id),
        )
    )
