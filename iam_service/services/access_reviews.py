"""Periodic access reviews (5.18), wired together for the composition root.

``AccessReviews`` bundles the use cases: ``starter`` (campaigns, by the
scheduler or a security officer), ``decisions`` (keep, revoke, bulk keep,
delegate, sign off), ``closer`` (close and seal), ``views`` (what each
caller may read), ``reports`` (PDF and CSV evidence), ``reminders`` (mail)
and ``sign_ins`` (last sign-in per account, for the recommendations).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.base import Connector
from iam_service.adapters.mail import TemplateRenderer
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.review_campaigns import CampaignStarter
from iam_service.services.review_close import CampaignCloser
from iam_service.services.review_decisions import ReviewDecisions
from iam_service.services.review_reminders import ReviewReminders
from iam_service.services.review_reports import ReviewReports
from iam_service.services.review_views import ReviewViews
from iam_service.services.sign_in_activity import SignInCollector
from iam_service.services.unit_of_work import UnitOfWorkFactory
from iam_service.settings import Settings


@dataclass(frozen=True)
class AccessReviews:
    starter: CampaignStarter
    decisions: ReviewDecisions
    closer: CampaignCloser
    views: ReviewViews
    reports: ReviewReports
    reminders: ReviewReminders
    sign_ins: SignInCollector


def build_access_reviews(
    settings: Settings,
    uow: UnitOfWorkFactory,
    ctx: LifecycleContext,
    connector_factory: Callable[[str], Connector],
    approved: Callable[[], frozenset[str]] | None = None,
    *,
    outbox: MailOutbox | None = None,
    directory: RecipientDirectory | None = None,
) -> AccessReviews:
    """The use cases. Reminders are only queued here; the ``deliver_mail``
    job of the mail outbox sends them."""
    base = (settings.console_base_url or "").rstrip("/")
    return AccessReviews(
        starter=CampaignStarter(uow, ctx),
        decisions=ReviewDecisions(uow, ctx),
        closer=CampaignCloser(uow, ctx),
        views=ReviewViews(uow),
        reports=ReviewReports(
            uow, language=settings.console_language, company=settings.company_name
        ),
        reminders=ReviewReminders(
            uow,
            outbox or MailOutbox(uow, TemplateRenderer(), None),
            directory
            or RecipientDirectory(
                settings.console_language,
                [settings.security_officer_email or ""],
            ),
            timezone=ctx.timezone,
            company=settings.company_name,
            review_url=(lambda i: f"{base}/console/reviews/{i}") if base else _no_url,
        ),
        sign_ins=SignInCollector(uow, ctx.systems, connector_factory, approved),
    )


def _no_url(_review_id: int) -> str:
    return ""
