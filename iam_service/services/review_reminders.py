"""Reminders and escalations of access reviews, by e-mail (5.18).

The ``review_reminders`` job looks at every open campaign: for each step of
its policy whose time has come (``review_rules.due_steps``: N days before
the due time, N days after it), every review not yet signed off gets a
message through the mail outbox (``services/notifications.py``):

* a reminder to its reviewer (the security officers for their review);
* an escalation, once overdue, to the security officers and the reviewer's
  manager;
* when a campaign closed keeping undecided items, one message to the
  security officers naming the reviews that left them.

The outbox key ``review:<review id>:<step>`` makes each step reach each
review once, whatever the scheduler does; the outbox records when it was
sent. A reviewer who signed off is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from iam_service.adapters import review_queries
from iam_service.adapters.orm_reviews import review_items
from iam_service.domain.mail import Recipient
from iam_service.domain.review_rules import Step, due_steps
from iam_service.domain.reviews import (
    Campaign,
    CampaignStatus,
    NotificationKind,
    Progress,
    Review,
    ReviewStatus,
)
from iam_service.domain.security import Role
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

TEMPLATES = {
    NotificationKind.REMINDER: "review_reminder",
    NotificationKind.ESCALATION: "review_escalation",
}


class ReviewReminders:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        outbox: MailOutbox,
        directory: RecipientDirectory,
        *,
        timezone: ZoneInfo,
        company: str,
        review_url: Callable[[int], str] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.outbox = outbox
        self.directory = directory
        self.timezone = timezone
        self.company = company
        self.review_url = review_url or (lambda _review_id: "")

    def queue_due(self) -> int:
        """Queue every reminder and escalation whose time has come; returns
        how many messages were newly written."""
        written = 0
        with self.uow_factory() as uow:
            now = uow.clock.now()
            for campaign in uow.campaigns.find(status=CampaignStatus.OPEN):
                steps = due_steps(campaign, now)
                if not steps:
                    continue
                reviews = [
                    r
                    for r in uow.reviews.for_campaign(campaign.id or 0)
                    if r.status is ReviewStatus.OPEN
                ]
                counts = review_queries.progress(
                    uow.session, "review_id", [r.id or 0 for r in reviews]
                )
                for review in reviews:
                    for step in steps:
                        written += self._queue(
                            uow, campaign, review, step, counts.get(review.id or 0), now
                        )
            for campaign in uow.campaigns.find(status=CampaignStatus.CLOSED, limit=20):
                written += self._closed(uow, campaign)
            uow.commit()
        return written

    def _closed(self, uow: UnitOfWork, campaign: Campaign) -> int:
        """Once a campaign closed with undecided items kept, the security
        officers hear which reviews left them (the escalation, 5.18)."""
        key = f"review_campaign:{campaign.id}:closed"
        if any(uow.mail.by_key(f"{key}:{lang}") for lang in ("ja", "en")):
            return 0
        t = review_items
        rows = uow.session.execute(
            select(t.c.review_id, func.count())
            .where(t.c.campaign_id == campaign.id, t.c.escalated)
            .group_by(t.c.review_id)
        ).all()
        recipients = self._security_officers(uow)
        if not rows or not recipients:
            return 0
        escalated: dict[int, int] = {int(r): int(n) for r, n in rows}
        lines = []
        for review in uow.reviews.for_campaign(campaign.id or 0):
            if review.id in escalated:
                who = review.reviewer_employee_id
                person = uow.persons.by_employee_id(who) if who else None
                name = f"{person.display_name} ({who})" if person else "-"
                lines.append(
                    {
                        "reviewer": name,
                        "department": review.department_code or "",
                        "items": escalated[review.id],
                    }
                )
        messages = self.outbox.queue(
            uow,
            key=key,
            template="review_closed",
            recipients=recipients,
            context={
                "company": self.company,
                "campaign_name": campaign.name,
                "campaign_name_ja": campaign.name_ja or campaign.name,
                "campaign_id": campaign.id,
                "closed": (campaign.closed_at or uow.clock.now())
                .astimezone(self.timezone)
                .strftime("%Y-%m-%d %H:%M"),
                "escalated": sum(escalated.values()),
                "reviews": lines,
            },
            subject_ref=f"review_campaign:{campaign.id}",
        )
        return len(messages)

    def _queue(
        self,
        uow: UnitOfWork,
        campaign: Campaign,
        review: Review,
        step: Step,
        progress: Progress | None,
        now: datetime,
    ) -> int:
        key = f"review:{review.id}:{step.name}"
        if any(uow.mail.by_key(f"{key}:{lang}") for lang in ("ja", "en")):
            return 0
        recipients = self._recipients(uow, review, step.kind)
        if not recipients:
            return 0
        messages = self.outbox.queue(
            uow,
            key=key,
            template=TEMPLATES[step.kind],
            recipients=recipients,
            context=self._context(uow, campaign, review, progress, now),
            subject_ref=f"review:{review.id}",
        )
        uow.record(
            "scheduler",
            f"review.{step.kind}_queued",
            f"review:{review.id}",
            after={
                "campaign": campaign.id,
                "step": step.name,
                "recipients": [r.address for r in recipients],
            },
            reason="5.18 periodic access review",
        )
        return len(messages)

    def _recipients(
        self, uow: UnitOfWork, review: Review, kind: NotificationKind
    ) -> list[Recipient]:
        reviewer = (
            uow.persons.by_employee_id(review.reviewer_employee_id)
            if review.reviewer_employee_id
            else None
        )
        officers = self._security_officers(uow)
        if kind is NotificationKind.REMINDER:
            return [self.directory.person(reviewer)] if reviewer else officers
        found = list(officers)
        manager_id = reviewer.manager_employee_id if reviewer else None
        manager = uow.persons.by_employee_id(manager_id) if manager_id else None
        if manager is not None and manager.email:
            found.append(self.directory.person(manager))
        return found

    def _security_officers(self, uow: UnitOfWork) -> list[Recipient]:
        found = list(self.directory.security_officers())
        for assignment in uow.role_assignments.active(Role.SECURITY_OFFICER):
            person = uow.persons.by_employee_id(assignment.employee_id)
            if person is not None and person.email:
                found.append(self.directory.person(person))
        return found

    def _context(
        self,
        uow: UnitOfWork,
        campaign: Campaign,
        review: Review,
        progress: Progress | None,
        now: datetime,
    ) -> dict[str, Any]:
        counts = progress or Progress()
        reviewer = review.reviewer_employee_id
        person = uow.persons.by_employee_id(reviewer) if reviewer else None
        due = campaign.due_at.astimezone(self.timezone)
        return {
            "company": self.company,
            "campaign_name": campaign.name,
            "campaign_name_ja": campaign.name_ja or campaign.name,
            "department": review.department_code or "",
            "reviewer_name": person.display_name if person else "",
            "reviewer_employee_id": reviewer or "",
            "due": due.strftime("%Y-%m-%d %H:%M"),
            "days_left": max(0, (campaign.due_at - now).days),
            "days_overdue": max(0, (now - campaign.due_at).days),
            "open_items": counts.open,
            "flagged_open": counts.flagged_open,
            "total_items": counts.total,
            "review_url": self.review_url(review.id or 0),
        }
