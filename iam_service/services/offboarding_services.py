"""The offboarding and asset-register use cases, wired as one bundle for the
composition root (``bootstrap.py``) and the web, CLI and scheduler."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from iam_service.services.asset_register import AssetRegister
from iam_service.services.card_checks import CardChecks
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.offboarding_cases import OffboardingCases
from iam_service.services.offboarding_jobs import EscalationMail
from iam_service.services.offboarding_reports import OffboardingReports
from iam_service.services.planned_terminations import PlannedTerminations
from iam_service.services.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class OffboardingServices:
    assets: AssetRegister
    card_checks: CardChecks
    cases: OffboardingCases
    reports: OffboardingReports
    planned: PlannedTerminations
    escalation: EscalationMail


def build_offboarding_services(
    uow: UnitOfWorkFactory,
    ctx: LifecycleContext,
    outbox: MailOutbox,
    recipients: RecipientDirectory,
    *,
    company: str,
    case_link: Callable[[int], str] | None = None,
) -> OffboardingServices:
    return OffboardingServices(
        assets=AssetRegister(uow),
        card_checks=CardChecks(uow),
        cases=OffboardingCases(uow, ctx),
        reports=OffboardingReports(uow),
        planned=PlannedTerminations(uow, ctx),
        escalation=EscalationMail(outbox, recipients, company, case_link),
    )
