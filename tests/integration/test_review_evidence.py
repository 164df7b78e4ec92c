"""Closing an access review and its evidence (5.18, 8.15) on SQLite and
PostgreSQL: undecided items as the policy says, the seal from the audit
chain, the PDF (Japanese title page) and CSV an auditor downloads, and a
later edit showing up in the report and in ``iamctl reviews verify``."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from iam_service.adapters.orm_reviews import review_items
from iam_service.cli import app
from iam_service.domain.reviews import ItemDecision
from iam_service.domain.security import Role
from iam_service.services import review_reports
from jobs.scheduler import JOBS, run_exclusive
from tests.support.access import Person
from tests.support.reviews import AUDITOR, SECURITY_OFFICER, ReviewOrg, head
from tests.support.service import drain

pytestmark = pytest.mark.slow


def _close_by_time(org: ReviewOrg, campaign: int) -> None:
    with org.container.uow() as uow:
        found = uow.campaigns.get(campaign)
        assert found is not None
        closes = found.closes_at
    org.clock.set(closes + timedelta(minutes=1))
    job = next(j for j in JOBS if j.name == "close_review_campaigns")
    assert run_exclusive(org.container, job)


def test_at_close_undecided_items_are_kept_escalated_and_the_campaign_sealed(
    review_org: ReviewOrg,
) -> None:
    campaign = review_org.start()
    sales = review_org.review_of(campaign, "S100").id or 0
    reviews = review_org.container.access_reviews
    reviews.decisions.bulk_keep(sales, head("S100"))
    _close_by_time(review_org, campaign)
    view = reviews.views.campaign(campaign, AUDITOR)
    assert view["status"] == "closed" and view["closed_by"] == "scheduler"
    assert view["progress"]["open"] == 0
    with review_org.container.uow() as uow:
        undecided_before = list(uow.review_items.undecided_in_campaign(campaign))
        record = [
            r
            for r in uow.audit.for_target(f"review_campaign:{campaign}")
            if r.action == "review_campaign.closed"
        ][-1]
        escalated = [
            i
            for r in uow.reviews.for_campaign(campaign)
            for i in uow.review_items.in_review(r.id or 0)
            if i.escalated
        ]
    assert undecided_before == []
    assert escalated and all(i.decision is ItemDecision.KEEP for i in escalated)
    assert all(i.decided_by == "policy:access_reviews" for i in escalated)
    assert view["evidence"]["audit_seq"] == record.seq
    assert view["evidence"]["audit_hash"] == record.hash
    assert record.after is not None
    assert record.after["items_digest"] == view["evidence"]["items_digest"]
    assert reviews.reports.verify(campaign)["ok"] is True
    data = reviews.reports.data(campaign, AUDITOR)
    assert data.integrity.ok
    statuses = {r["status"] for r in data.reviews}
    assert statuses == {"signed_off", "closed"} or statuses == {"closed"}


def test_an_edit_after_the_close_shows_in_the_report_and_the_check(
    review_org: ReviewOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = review_org.start()
    reviews = review_org.container.access_reviews
    reviews.closer.close(campaign, SECURITY_OFFICER.actor)
    with review_org.container.uow() as uow:  # someone with database access
        uow.session.execute(
            update(review_items)
            .where(review_items.c.campaign_id == campaign)
            .values(comment="rewritten later")
        )
        uow.commit()
    result = reviews.reports.verify(campaign)
    assert result["audit_chain_intact"] and result["close_record_unchanged"]
    assert not result["decisions_unchanged"] and not result["ok"]
    assert not reviews.reports.data(campaign, AUDITOR).integrity.ok
    settings = review_org.container.settings
    monkeypatch.setenv("IAM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IAM_DEMO_MODE", "1")
    if settings.database_schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", settings.database_schema)
    answer = CliRunner().invoke(app, ["reviews", "verify", str(campaign)])
    assert answer.exit_code == 1, answer.output
    assert '"decisions_unchanged": false' in answer.output


def test_a_revoke_policy_removes_what_nobody_decided_at_close(
    review_org: ReviewOrg,
) -> None:
    reviews = review_org.container.access_reviews
    campaign = reviews.starter.start("privileged", SECURITY_OFFICER.actor)
    closed = reviews.closer.close(campaign.id or 0, SECURITY_OFFICER.actor)
    assert closed.evidence_hash
    drain(review_org.container)
    with review_org.container.uow() as uow:
        items = list(uow.review_items.waiting_in_campaign(campaign.id or 0))
        assert items == []  # every revocation was applied
        domain_admins = [
            i
            for r in uow.reviews.for_campaign(campaign.id or 0)
            for i in uow.review_items.in_review(r.id or 0)
            if i.entitlement_ref == "ad:Domain Admins"
        ]
        grant = uow.grants.get(domain_admins[0].grant_id)
    assert {i.decision for i in domain_admins} == {ItemDecision.REVOKE}
    assert grant is not None and str(grant.status) == "removed"
    report = reviews.reports.data(campaign.id or 0, AUDITOR)
    removal = next(
        i
        for i in report.items
        if i["entitlement_ref"] == "ad:Domain Admins" and i["operation_id"]
    )
    assert str(removal["operation_status"]) == "succeeded"
    assert removal["operation_finished_at"] is not None


def test_an_auditor_downloads_the_sealed_report_as_pdf_and_csv(
    review_org: ReviewOrg, as_person: Person, tmp_path: Path
) -> None:
    campaign = review_org.start()
    officer = as_person(Role.SECURITY_OFFICER, "X900")
    assert officer.post(f"/api/v1/review-campaigns/{campaign}/close").status_code == 200
    auditor = as_person(Role.AUDITOR, None)
    evidence = auditor.get(f"/api/v1/review-campaigns/{campaign}").json()["evidence"]
    pdf = auditor.get(f"/api/v1/review-campaigns/{campaign}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    if shutil.which("pdftotext"):
        path = tmp_path / "report.pdf"
        path.write_bytes(pdf.content)
        text = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "アクセスレビュー報告書" in text  # the organisation's language
        assert "四半期アクセスレビュー" in text
        assert evidence["audit_hash"][:40] in text.replace("\n", "")
    answer = auditor.get(f"/api/v1/review-campaigns/{campaign}/report.csv")
    assert answer.status_code == 200
    body = answer.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][0] == "項目 [item]"
    header = [h.split("[")[1].rstrip("]") for h in rows[0]]
    records = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    total = auditor.get(f"/api/v1/review-campaigns/{campaign}").json()["items_total"]
    assert len(records) == total
    assert {r["audit_hash"] for r in records} == {evidence["audit_hash"]}
    assert all(r["entitlement"] and r["decision"] for r in records)
    head_client = as_person(Role.DEPARTMENT_HEAD, "S100")
    assert (
        head_client.get(f"/api/v1/review-campaigns/{campaign}/report.csv").status_code
        == 403
    )


def test_a_large_campaign_lists_what_matters_in_the_pdf_and_all_in_the_csv(
    review_org: ReviewOrg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = review_org.start()
    reviews = review_org.container.access_reviews
    reviews.decisions.bulk_keep(
        review_org.review_of(campaign, "S100").id or 0, head("S100")
    )
    monkeypatch.setattr(review_reports, "FULL_LISTING_LIMIT", 5)
    data = reviews.reports.data(campaign, AUDITOR)
    assert not data.listed_all
    assert data.items and all(
        i["recommendations"] or i["decision"] is None for i in data.items
    )
    assert len(data.items) < data.campaign["items_total"]
    assert reviews.reports.pdf(campaign, AUDITOR).startswith(b"%PDF")
    settings = review_org.container.settings
    monkeypatch.setenv("IAM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("IAM_DEMO_MODE", "1")
    if settings.database_schema:
        monkeypatch.setenv("IAM_DATABASE_SCHEMA", settings.database_schema)
    answer = CliRunner().invoke(
        app,
        ["reviews", "report", str(campaign), "--csv", str(tmp_path / "all.csv")],
    )
    assert answer.exit_code == 0, answer.output
    rows = (tmp_path / "all.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + data.campaign["items_total"]
