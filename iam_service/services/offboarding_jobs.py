"""The scheduler's offboarding work: escalations and final deletion.

``escalate``: an open case with something outstanding is mailed to the
leaver's department head after ``escalate_to_department_head_after_days``
and to the security officer after ``escalate_to_security_officer_after_days``
(policy ``offboarding``). Each level is sent once per case, ever: the
escalation row (unique per case and level) and its message in the mail
outbox are written in one transaction, whatever the scheduler does. A
department without a head goes to the security officer instead; with no
address to send to, a notice says so. It also records, once, when every
account of a case was verified disabled (for the reports).

``delete_due``: a closed case whose retention has passed has its accounts
deleted through the queue (``DELETE_ACCOUNT``), but only once every data
handover is done or waived; until then it is held with a notice. Systems
that cannot delete keep the account disabled, and the case says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.base import Capability
from iam_service.domain.mail import Recipient
from iam_service.domain.model import AccountStatus, PersonStatus
from iam_service.domain.offboarding import (
    CaseEscalation,
    CaseStatus,
    EscalationLevel,
    OffboardingCase,
)
from iam_service.domain.offboarding_progress import (
    Outstanding,
    levels_due,
    outstanding_for_close,
)
from iam_service.domain.operations import OperationKind
from iam_service.domain.records import Notice
from iam_service.domain.security import Role
from iam_service.services.lifecycle import LifecycleContext
from iam_service.services.notifications import MailOutbox, RecipientDirectory
from iam_service.services.offboarding import (
    account_progress,
    all_disabled_at,
    case_target,
    deletion_cause,
)
from iam_service.services.provisioning import Provisioner
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

TEMPLATE = "offboarding_escalation"
_DELETE = Capability.DELETE


@dataclass(frozen=True)
class EscalationMail:
    """What the escalation job needs besides the store."""

    outbox: MailOutbox
    recipients: RecipientDirectory
    company: str = "Example Corp"
    case_link: Callable[[int], str] | None = None  # a console URL, if any


def escalate(
    uow_factory: UnitOfWorkFactory, ctx: LifecycleContext, mail: EscalationMail
) -> int:
    """Queue the escalations that are due; returns how many were recorded."""
    policy = ctx.policy().offboarding
    recorded = 0
    with uow_factory() as uow:
        now = uow.clock.now()
        for case in uow.offboarding.find(status=CaseStatus.OPEN, limit=100_000):
            accounts = account_progress(uow, case)
            if case.all_disabled_at is None:
                case.all_disabled_at = all_disabled_at(uow, case, accounts)
            due = [
                level
                for level in levels_due(case.opened_at, now, policy)
                if level not in uow.offboarding.escalated_levels(case.id or 0)
            ]
            if not due:
                continue
            items = uow.offboarding.items(case.id or 0)
            outstanding = outstanding_for_close(items, accounts)
            if not outstanding:
                continue  # nothing to chase: it only waits for someone to close
            for level in due:
                _escalate(uow, case, level, outstanding, ctx, mail)
                recorded += 1
        uow.commit()
    return recorded


def _escalate(
    uow: UnitOfWork,
    case: OffboardingCase,
    level: EscalationLevel,
    outstanding: list[Outstanding],
    ctx: LifecycleContext,
    mail: EscalationMail,
) -> None:
    recipients, note = _recipients(uow, case, level, mail.recipients)
    key = f"offboarding:{case.id}:escalation:{level.value}"
    if recipients:
        for recipient in recipients:  # one message each: greeted by name
            mail.outbox.queue(
                uow,
                key=f"{key}:{recipient.address.lower()}",
                template=TEMPLATE,
                recipients=[recipient],
                context=_context(uow, case, level, outstanding, ctx, mail)
                | {"recipient_name": recipient.name},
                subject_ref=case_target(case),
            )
    else:
        note = (note + "; " if note else "") + "no address to mail it to"
        uow.notices.add(
            Notice(
                kind="offboarding_escalation",
                subject=case_target(case),
                detail=(
                    f"Offboarding case #{case.id} ({case.person_name}) has "
                    f"{len(outstanding)} outstanding item(s) and could not be "
                    "mailed: set IAM_SECURITY_OFFICER_EMAIL and the department head."
                ),
                audience=Role.SECURITY_OFFICER,
                created_at=uow.clock.now(),
            )
        )
    uow.offboarding.add_escalation(
        CaseEscalation(
            case_id=case.id or 0,
            level=level,
            at=uow.clock.now(),
            recipients=[r.address for r in recipients],
            outstanding=[o.as_dict() for o in outstanding],
            note=note,
            mail_key=key if recipients else None,
        )
    )
    uow.record(
        "scheduler",
        "offboarding.escalated",
        case_target(case),
        after={
            "level": level.name.lower(),
            "recipients": [r.address for r in recipients],
            "outstanding": len(outstanding),
        },
        reason=note or f"outstanding after {case.age_days(uow.clock.now())} days",
    )


def _recipients(
    uow: UnitOfWork,
    case: OffboardingCase,
    level: EscalationLevel,
    directory: RecipientDirectory,
) -> tuple[list[Recipient], str]:
    if level is EscalationLevel.DEPARTMENT_HEAD:
        head = directory.department_head(uow, case.department_code)
        if head is not None and head.address.lower() != _leaver_email(uow, case):
            return [head], ""
        note = f"department {case.department_code} has no active head to mail"
        return directory.security_officers(), note
    return directory.security_officers(), ""


def _leaver_email(uow: UnitOfWork, case: OffboardingCase) -> str:
    person = uow.persons.get(case.person_id)
    return person.email.lower() if person else ""


def _context(
    uow: UnitOfWork,
    case: OffboardingCase,
    level: EscalationLevel,
    outstanding: list[Outstanding],
    ctx: LifecycleContext,
    mail: EscalationMail,
) -> dict[str, Any]:
    policy = ctx.policy().offboarding
    department = uow.departments.get(case.department_code)
    return {
        "company": mail.company,
        "level": level.name.lower(),
        "case_id": case.id,
        "employee_id": case.employee_id,
        "person_name": case.person_name,
        "department": department.name if department else case.department_code,
        "terminated_on": ctx.local_date(case.terminated_at).isoformat(),
        "age_days": case.age_days(uow.clock.now()),
        "head_days": policy.escalate_to_department_head_after_days,
        "officer_days": policy.escalate_to_security_officer_after_days,
        "outstanding": [_mailed(uow, case, o) for o in outstanding],
        "entry_system": policy.entry_system,
        "case_url": mail.case_link(case.id or 0) if mail.case_link else "",
    }


def _mailed(
    uow: UnitOfWork, case: OffboardingCase, outstanding: Outstanding
) -> dict[str, Any]:
    """An outstanding item with what a template needs to word it in the
    recipient's language (the stored title is English)."""
    found: dict[str, Any] = outstanding.as_dict()
    item = (
        uow.offboarding.item(case.id or 0, int(outstanding.ref))
        if outstanding.ref.isdigit()
        else None
    )
    asset = uow.assets.get(item.asset_id) if item and item.asset_id else None
    if asset is not None:
        found |= {
            "type": str(asset.asset_type),
            "tag": asset.tag,
            "description": asset.description,
            "card_number": asset.card_number or "",
        }
    if item is not None and item.system_key:
        found["system"] = item.system_key
    return found


def delete_due(uow_factory: UnitOfWorkFactory, ctx: LifecycleContext) -> int:
    """Queue the deletion of the accounts of closed cases whose retention
    passed; returns the number of cases whose deletion was queued."""
    queued = 0
    with uow_factory() as uow:
        now = uow.clock.now()
        for case in uow.offboarding.deletion_due(now):
            person = uow.persons.get(case.person_id)
            if person is None or person.status is not PersonStatus.TERMINATED:
                continue  # a rehire calls deletion off; never delete an employee
            waiting = [
                i for i in uow.offboarding.items(case.id or 0) if i.blocks_deletion
            ]
            if waiting:
                _hold(uow, case, waiting)
                continue
            _queue_deletion(uow, case, ctx)
            queued += 1
        for case in uow.offboarding.deleting():
            if all(
                a.status is AccountStatus.DELETED
                or not ctx.systems.can(a.system_key, _DELETE)
                for a in uow.accounts.for_person(case.person_id)
            ):
                case.accounts_deleted_at = now
                uow.record(
                    "scheduler", "offboarding.accounts_deleted", case_target(case)
                )
        uow.commit()
    return queued


def _hold(uow: UnitOfWork, case: OffboardingCase, waiting: list[Any]) -> None:
    if case.deletion_held_at is not None:
        return  # said once
    case.deletion_held_at = uow.clock.now()
    titles = "; ".join(i.title for i in waiting)
    uow.notices.add(
        Notice(
            kind="offboarding_deletion_held",
            subject=case_target(case),
            detail=(
                f"The accounts of {case.person_name} ({case.employee_id}) are due "
                f"for deletion, but their data has not been handed over: {titles}. "
                "Mark each item done or waived with a reason."
            ),
            audience=Role.HR,
            created_at=uow.clock.now(),
        )
    )
    uow.record(
        "scheduler",
        "offboarding.deletion_held",
        case_target(case),
        after={"waiting_items": [i.id for i in waiting]},
    )


def _queue_deletion(
    uow: UnitOfWork, case: OffboardingCase, ctx: LifecycleContext
) -> None:
    provisioner = Provisioner(
        uow, ctx.policy(), ctx.systems, actor="scheduler", cause=deletion_cause(case)
    )
    queued, kept = [], []
    for account in uow.accounts.for_person(case.person_id):
        if account.status is AccountStatus.DELETED:
            continue
        if ctx.systems.can(account.system_key, _DELETE):
            provisioner.queue(account, OperationKind.DELETE_ACCOUNT, {})
            queued.append(account.system_key)
        else:
            kept.append(account.system_key)
    case.deletion_queued_at = uow.clock.now()
    uow.record(
        "scheduler",
        "offboarding.deletion_queued",
        case_target(case),
        after={"systems": queued, "kept_disabled": kept},
        reason="retention period over; data handed over",
    )
