"""The evidence of a campaign (5.18, 8.15): a CSV of every item and a PDF
report, both carrying the audit chain's seal of the close (ADR 0017).

The report states the scope; each reviewer with their decisions, times and
comments; what was removed and when the removal was verified by read-back;
what was escalated; and the seal: the close record's sequence number and
hash, and the digest of every decision. Each time a report is made the
digest is recomputed from the items and the close record's hash from its
content, so a later edit shows in the report itself ("integrity").
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from iam_service.adapters import orm, review_queries
from iam_service.adapters.orm_reviews import campaign_reviews, review_items
from iam_service.adapters.review_pdf import render_pdf
from iam_service.domain.review_rules import DIGEST_FIELDS, items_digest
from iam_service.domain.reviews import (
    Campaign,
    CampaignStatus,
    ItemDecision,
    Progress,
)
from iam_service.domain.security import Role
from iam_service.services import audit_trail
from iam_service.services.auth import Principal
from iam_service.services.errors import Forbidden, NotFoundError
from iam_service.services.review_close import CLOSED_ACTION
from iam_service.services.review_csv import CSV_COLUMNS, cell, csv_values
from iam_service.services.review_formats import campaign_view, entitlement_view
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

READERS = (Role.SECURITY_OFFICER, Role.AUDITOR)
# Above this many items the PDF lists the decisions that matter (revokes,
# escalations, comments, recommendations) and counts the plain keeps; the
# CSV, sealed the same way, lists every item.
FULL_LISTING_LIMIT = 5000


@dataclass
class Integrity:
    """What was checked when the report was made."""

    sealed: bool
    digest_now: str
    digest_matches: bool
    record_matches: bool  # the close record still hashes to the sealed hash

    @property
    def ok(self) -> bool:
        return self.sealed and self.digest_matches and self.record_matches


@dataclass
class ReportData:
    campaign: dict[str, Any]
    company: str
    language: str
    generated_at: datetime
    integrity: Integrity
    reviews: list[dict[str, Any]]
    items: list[dict[str, Any]] = field(default_factory=list)
    listed_all: bool = True  # False: only the notable items are in ``items``
    delegations: list[dict[str, Any]] = field(default_factory=list)


class ReviewReports:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, *, language: str, company: str
    ) -> None:
        self.uow_factory = uow_factory
        self.language = language
        self.company = company

    def csv(self, campaign_id: int, who: Principal) -> str:
        """Every item as CSV (UTF-8 with BOM, for Excel), sealed columns;
        rows are streamed from the database, never all held at once."""
        _readable(who)
        output = io.StringIO()
        output.write("\ufeff")
        writer = csv.writer(output, lineterminator="\r\n")
        writer.writerow([f"{ja} [{key}]" for key, ja in CSV_COLUMNS])
        with self.uow_factory() as uow:
            campaign = _campaign(uow, campaign_id)
            evidence = {
                "audit_seq": campaign.evidence_seq,
                "audit_hash": campaign.evidence_hash,
            }
            for row in _items(uow, campaign, self.language):
                values = csv_values(row, campaign_id, evidence)
                writer.writerow([cell(values[key]) for key, _ in CSV_COLUMNS])
        return output.getvalue()

    def pdf(self, campaign_id: int, who: Principal) -> bytes:
        return render_pdf(self.data(campaign_id, who))

    def verify(self, campaign_id: int) -> dict[str, Any]:
        """The seal checked end to end: the whole audit chain, the close
        record in it, and the digest of the decisions as stored now."""
        chain = audit_trail.verify(self.uow_factory)
        with self.uow_factory() as uow:
            campaign = uow.campaigns.get(campaign_id)
            if campaign is None:
                raise NotFoundError(f"no review campaign {campaign_id}")
            integrity = _integrity(uow, campaign)
        return {
            "campaign": campaign_id,
            "audit_chain_intact": chain.ok,
            "audit_chain_breaks": [f"{b.seq}: {b.problem}" for b in chain.breaks],
            "sealed": integrity.sealed,
            "audit_record": campaign.evidence_seq,
            "audit_hash": campaign.evidence_hash,
            "close_record_unchanged": integrity.record_matches,
            "items_digest_sealed": campaign.items_digest,
            "items_digest_now": integrity.digest_now,
            "decisions_unchanged": integrity.digest_matches,
            "ok": chain.ok and integrity.ok,
        }

    def data(self, campaign_id: int, who: Principal) -> ReportData:
        """What the PDF shows. Up to ``FULL_LISTING_LIMIT`` items every one;
        above it the notable ones (revoked, escalated, commented, flagged)."""
        _readable(who)
        with self.uow_factory() as uow:
            campaign = _campaign(uow, campaign_id)
            listed_all = campaign.items_total <= FULL_LISTING_LIMIT
            reviews = list(uow.reviews.for_campaign(campaign_id))
            counts = review_queries.progress(
                uow.session, "review_id", [r.id or 0 for r in reviews]
            )
            total = review_queries.progress(uow.session, "campaign_id", [campaign_id])
            names = _reviewer_names(uow, [r.reviewer_employee_id for r in reviews])
            return ReportData(
                campaign=campaign_view(campaign, total.get(campaign_id))
                | {"catalogue_size": len(campaign.catalogue)},
                company=self.company,
                language=self.language,
                generated_at=uow.clock.now(),
                integrity=_integrity(uow, campaign),
                reviews=[_review_row(r, counts.get(r.id or 0), names) for r in reviews],
                items=list(
                    _items(uow, campaign, self.language, notable_only=not listed_all)
                ),
                listed_all=listed_all,
                delegations=[
                    {
                        "from": d.from_employee_id,
                        "to": d.to_employee_id,
                        "at": d.at,
                        "reason": d.reason,
                        "items": d.items_moved,
                    }
                    for d in uow.delegations.for_campaign(campaign_id)
                ],
            )


def _integrity(uow: UnitOfWork, campaign: Campaign) -> Integrity:
    t = review_items
    rows = uow.session.execute(
        select(*(t.c[name] for name in DIGEST_FIELDS))
        .where(t.c.campaign_id == campaign.id)
        .order_by(t.c.id)
    )
    digest_now = items_digest(dict(r._mapping) for r in rows)
    sealed = campaign.status is CampaignStatus.CLOSED and bool(campaign.evidence_hash)
    record_ok = False
    if sealed:
        records = uow.audit.for_target(f"review_campaign:{campaign.id}")
        closed = [r for r in records if r.action == CLOSED_ACTION]
        record = closed[-1] if closed else None
        record_ok = (
            record is not None
            and record.hash == campaign.evidence_hash
            and hashlib.sha256(record.canonical()).hexdigest() == record.hash
            and (record.after or {}).get("items_digest") == campaign.items_digest
        )
    return Integrity(
        sealed=sealed,
        digest_now=digest_now,
        digest_matches=sealed and digest_now == campaign.items_digest,
        record_matches=record_ok,
    )


def _readable(who: Principal) -> None:
    if not who.has(*READERS):
        raise Forbidden("the report is for the security officer and auditors")


def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign:
    campaign = uow.campaigns.get(campaign_id)
    if campaign is None:
        raise NotFoundError(f"no review campaign {campaign_id}")
    return campaign


def _items(
    uow: UnitOfWork, campaign: Campaign, language: str, *, notable_only: bool = False
) -> Iterator[dict[str, Any]]:
    t, p, o, r = review_items, orm.persons, orm.operations_table, campaign_reviews
    query = (
        select(
            t,
            p.c.given_name,
            p.c.family_name,
            r.c.reviewer_employee_id,
            r.c.reviewer_kind,
            o.c.status.label("operation_status"),
            o.c.finished_at.label("operation_finished_at"),
        )
        .join(p, p.c.id == t.c.person_id)
        .join(r, r.c.id == t.c.review_id)
        .outerjoin(o, o.c.id == t.c.operation_id)
        .where(t.c.campaign_id == campaign.id)
        .order_by(t.c.review_id, t.c.employee_id, t.c.entitlement_ref, t.c.id)
    )
    if notable_only:
        query = query.where(
            (t.c.decision != ItemDecision.KEEP)
            | t.c.decision.is_(None)
            | t.c.escalated
            | (t.c.comment != "")
            | (t.c.recommendations != "")
        )
    for row in uow.session.execute(query.execution_options(yield_per=5000)):
        values = dict(row._mapping)
        values["entitlement"] = entitlement_view(
            values["entitlement_ref"], campaign.catalogue, language
        )
        values["person"] = f"{values['given_name']} {values['family_name']}"
        yield values


def _reviewer_names(uow: UnitOfWork, ids: list[str | None]) -> dict[str, str]:
    names = {}
    for employee_id in {i for i in ids if i}:
        person = uow.persons.by_employee_id(employee_id)
        names[employee_id] = person.display_name if person else employee_id
    return names


def _review_row(
    review: Any, progress: Progress | None, names: Mapping[str, str]
) -> dict[str, Any]:
    reviewer = review.reviewer_employee_id
    return {
        "id": review.id,
        "kind": str(review.reviewer_kind),
        "department": review.department_code or "",
        # None: the security officer's review, decided by any of them
        "reviewer": f"{names.get(reviewer, reviewer)} ({reviewer})"
        if reviewer
        else None,
        "delegated_from": review.delegated_from,
        "note": review.note,
        "status": str(review.status),
        "signed_off_at": review.signed_off_at,
        "signed_off_by": review.signed_off_by,
        "progress": progress or Progress(),
    }
