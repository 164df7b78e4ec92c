"""The offboarding case page in headless Chromium: HR records a returned
laptop with the keyboard and mouse as a person would, the checklist
updates, and screenshots go to docs/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from iam_service.domain.assets import AssetCreate
from iam_service.domain.security import Role
from tests.support.console import Console
from tests.support.service import drain

pytestmark = pytest.mark.browser


def test_hr_records_a_return_on_the_case_page(console: Console) -> None:
    c = console.container
    console.person("E8001", given="Kenta", family="Mori", entra=False)
    drain(c)
    for body in (
        AssetCreate(
            asset_type="laptop",
            tag="LT-8001",
            serial="PF-3K9Q",
            description="ThinkPad X1 Carbon",
            holder_employee_id="E8001",
        ),
        AssetCreate(
            asset_type="security_card",
            tag="CARD-8001",
            card_number="70081",
            holder_employee_id="E8001",
        ),
    ):
        c.offboarding.assets.create(body, "test")
    console.staff.terminate("E8001")
    drain(c)
    hr = console.person("E8010", given="Sakura", family="Yamada", roles=(Role.HR,))
    page = console.sign_in(hr, lang="ja")
    expect(page.get_by_role("heading", name="退職手続き")).to_be_visible()
    page.get_by_role("link", name="退職手続き").first.click()
    expect(page.get_by_role("cell", name=re.compile("Kenta Mori"))).to_be_visible()
    console.screenshot(page, "offboarding-cases")
    page.get_by_role("link", name=re.compile(r"#\d+")).first.click()
    expect(page.get_by_role("heading", name=re.compile("Kenta Mori"))).to_be_visible()
    expect(page.get_by_text("無効化（確認済）")).to_be_visible()
    console.screenshot(page, "offboarding-case")

    row = page.locator("tr", has_text="LT-8001").filter(has_text="資産の返却")
    row.get_by_text("返却を記録").first.click()
    row.get_by_label("状態").select_option("worn")
    row.get_by_role("button", name="返却を記録").click()
    expect(page.get_by_role("status")).to_contain_text("返却を記録しました")
    done = page.locator("tr", has_text="LT-8001").filter(has_text="資産の返却")
    expect(done.get_by_text("済", exact=True)).to_be_visible()
    expect(done.get_by_text("使用感あり")).to_be_visible()
