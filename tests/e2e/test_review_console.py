"""Access reviews in headless Chromium (Debian's, through Playwright), as the
issue asks (5.18):

* a department head signs in with Entra ID, completes a campaign with a
  revoke (from the keyboard), a keep and a bulk keep, and signs off; the
  revoked group is gone from the real Samba AD, read straight over LDAP;
* an auditor downloads the sealed report (PDF, Japanese title page);
* a department head cannot open another department's review.

Screenshots of the review pages go to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.fake import FakeConnector
from iam_service.domain.clock import FrozenClock
from iam_service.domain.security import Role
from iam_service.web.app import create_app
from tests.support.ad_service import AdTarget, ad_container
from tests.support.console import (
    CALLBACK,
    CLIENT_ID,
    Console,
    Member,
    Staff,
    console_settings,
    screenshot_path,
)
from tests.support.db import TestDatabase
from tests.support.graph_server import GraphServer
from tests.support.http_app import serve
from tests.support.reviews import SECURITY_OFFICER, ReviewOrg, build_review_org
from tests.support.samba import SambaDc
from tests.support.service import drain
from tools.samba_directory import connect

pytestmark = pytest.mark.browser


@pytest.fixture
def ad_console(
    tmp_path: Path,
    sqlite_template: Path,
    clock: FrozenClock,
    ad_target: AdTarget,
    graph_server: GraphServer,
    chromium: Any,
) -> Iterator[Console]:
    """The console served over the real Samba AD (SQLite store)."""
    path = tmp_path / "iam.db"
    shutil.copy(sqlite_template, path)
    c = ad_container(
        TestDatabase(f"sqlite:///{path}"),
        ad_target,
        clock,
        **console_settings(graph_server),
    )
    with serve(create_app(c)) as base_url:
        graph_server.sign_ins.allow_redirect(CLIENT_ID, base_url + CALLBACK)
        helper = Console(
            c, Staff(c, graph_server), graph_server, base_url, chromium, tmp_path
        )
        try:
            yield helper
        finally:
            helper.close()
    c.close()


def _member(console: Console, employee_id: str) -> Member:
    """An Entra ID user for someone the organisation already employs."""
    email = f"{employee_id.lower()}@example.test"
    name = f"Person{employee_id} Test"
    oid = console.staff.entra_user(email, name, employee_id)
    return Member(employee_id, email, name, oid)


def _ad_groups(dc: SambaDc, target: AdTarget, employee_id: str) -> set[str]:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(&(objectClass=user)(employeeID={employee_id}))",
            attributes=["memberOf"],
        )
        (entry,) = connection.entries
        return {
            str(g).split(",", 1)[0].removeprefix("CN=") for g in entry.memberOf.values
        }
    finally:
        connection.unbind()


def _row(page: Any, employee_id: str, ref: str) -> Any:
    return page.locator("tr.item").filter(has_text=employee_id).filter(has_text=ref)


@pytest.mark.samba
@pytest.mark.slow
def test_a_department_head_completes_a_review_and_the_group_leaves_samba_ad(
    ad_console: Console, samba_dc: SambaDc, ad_target: AdTarget
) -> None:
    c = ad_console.container
    clock: FrozenClock = c.clock  # type: ignore[assignment]
    org = build_review_org(c, clock, None)
    assert "GG-Engineering" in _ad_groups(samba_dc, ad_target, "S104")
    campaign = org.start()
    review = org.review_of(campaign, "S100").id

    page = ad_console.sign_in(_member(ad_console, "S100"))
    page.get_by_role("link", name="アクセスレビュー").first.click()
    page.get_by_role("link", name="四半期アクセスレビュー").click()
    expect(page).to_have_url(re.compile(f"/console/reviews/{review}"))
    leftover = _row(page, "S104", "ad:GG-Engineering")
    expect(leftover).to_contain_text("要確認: この人の職務に基づく標準権限の外")
    expect(leftover).to_contain_text("開発部")  # the catalogue's name, not the group
    expect(leftover).to_contain_text("FIN 在籍時の申請")
    ad_console.screenshot(page, "review-page")

    # Keyboard: j moves to the first (flagged) item, x opens its comment,
    # Enter revokes (htmx re-draws the row and the progress).
    page.locator("body").press("j")
    expect(leftover).to_be_focused()
    page.keyboard.press("x")
    page.keyboard.type("異動済み: 営業部では不要")
    page.keyboard.press("Enter")
    expect(leftover).to_contain_text("削除")
    expect(page.locator("#review-progress")).to_contain_text("削除 1 件")

    kept = _row(page, "S101", "ad:GG-Engineering")
    kept.get_by_role("button", name="維持").click()
    expect(kept.locator(".badge-keep")).to_be_visible()

    page.get_by_test_id("bulk-keep").click()
    expect(page.get_by_role("status").first).to_contain_text("すべて維持しました")
    expect(page.get_by_text("この条件に該当する項目はありません。")).to_be_visible()
    ad_console.screenshot(page, "review-all-decided")
    page.get_by_role("button", name="承認（サインオフ）").click()
    expect(page.get_by_role("status").first).to_contain_text("承認しました")

    drain(c)
    assert "GG-Engineering" not in _ad_groups(samba_dc, ad_target, "S104")
    assert "GG-Engineering" in _ad_groups(samba_dc, ad_target, "S101")
    page.goto(ad_console.url(f"/console/reviews/{review}?status=revoke"))
    expect(_row(page, "S104", "ad:GG-Engineering")).to_contain_text("削除済み・検証")
    ad_console.screenshot(page, "review-verified")


def _org_with_campaign(
    console: Console, fake_ad: FakeConnector
) -> tuple[ReviewOrg, int]:
    c = console.container
    clock: FrozenClock = c.clock  # type: ignore[assignment]
    org = build_review_org(c, clock, fake_ad)
    return org, org.start()


@pytest.mark.slow
def test_an_auditor_downloads_the_sealed_report(
    console: Console, fake_ad: FakeConnector, tmp_path: Path
) -> None:
    _org, campaign = _org_with_campaign(console, fake_ad)
    console.container.access_reviews.closer.close(campaign, SECURITY_OFFICER.actor)
    auditor = console.person("A900", department="GA", roles=(Role.AUDITOR,))
    page = console.sign_in(auditor)
    expect(page.get_by_text("四半期アクセスレビュー").first).to_be_visible()
    page.goto(console.url(f"/console/reviews/campaigns/{campaign}"))
    expect(page.get_by_text("監査記録 #")).to_be_visible()
    console.screenshot(page, "review-campaign")
    with page.expect_download() as download:
        page.get_by_test_id("report-pdf").click()
    path = tmp_path / "report.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-l", "1", str(path), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "アクセスレビュー報告書" in text
    if shutil.which("pdftoppm"):  # the title page, as the auditor sees it
        image = screenshot_path("review-report-title")
        if image.exists() and os.environ.get("IAM_SCREENSHOTS") != "update":
            image = tmp_path / "review-report-title.png"
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-singlefile", "-l", "1", str(path),
             str(image.with_suffix(""))],
            check=True,
        )  # fmt: skip
        assert image.stat().st_size > 10_000  # a rendered page, not a blank
    with page.expect_download() as download:
        page.get_by_test_id("report-csv").click()
    assert download.value.suggested_filename == f"access-review-{campaign}.csv"


@pytest.mark.slow
def test_a_head_cannot_open_another_departments_review(
    console: Console, fake_ad: FakeConnector
) -> None:
    org, campaign = _org_with_campaign(console, fake_ad)
    sales = org.review_of(campaign, "S100").id
    page = console.sign_in(_member(console, "F200"))
    answer = page.goto(console.url(f"/console/reviews/{sales}"))
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", name=re.compile("403"))).to_be_visible()
    page.goto(console.url("/console/reviews"))
    expect(page.get_by_role("link", name="四半期アクセスレビュー")).to_have_count(1)
    console.screenshot(page, "review-list")
    page.get_by_role("link", name="四半期アクセスレビュー").click()
    expect(page.get_by_text("要確認: 職務分掌の例外").first).to_be_visible()
    expect(page.get_by_text("削除を推奨", exact=False)).to_have_count(0)
    console.screenshot(page, "review-page-sod")
