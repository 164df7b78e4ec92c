"""The console in headless Chromium (Debian's, through Playwright): signing
in with Entra ID and with a break-glass account, signing out, both
languages, htmx from our own server, and screenshots of the main pages in
docs/screenshots/ (Japanese rendered with fonts-noto-cjk)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from iam_service.domain.security import Role
from tests.support.console import Console

pytestmark = pytest.mark.browser


def test_hr_signs_in_with_entra_id_and_finds_a_person(console: Console) -> None:
    hr = console.person("E5001", given="Sakura", family="Yamada", roles=(Role.HR,))
    console.person("E5002", given="Ren", family="Suzuki", department="ENG")
    page = console.new_page("ja")
    page.goto(console.url("/console/"))
    expect(page.get_by_role("heading", name="サインイン")).to_be_visible()
    console.screenshot(page, "sign-in")

    console.graph.sign_ins.signed_in = hr.oid
    page.get_by_test_id("sso").click()

    expect(page.get_by_role("heading", name="人事ホーム")).to_be_visible()
    expect(page.get_by_text("Yamada Sakura", exact=True)).to_be_visible()
    console.screenshot(page, "home-hr")
    page.get_by_role("link", name="人員").first.click()
    page.get_by_label("検索").fill("suzuki")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.get_by_role("cell", name="E5002", exact=True)).to_be_visible()
    expect(page.get_by_role("cell", name="E5001", exact=True)).to_have_count(0)
    console.screenshot(page, "people")
    page.get_by_role("link", name="E5002").click()
    expect(page.get_by_role("heading", name=re.compile("Suzuki Ren"))).to_be_visible()
    console.screenshot(page, "person")


def test_break_glass_sign_in_with_totp_then_sign_out(console: Console) -> None:
    password = console.staff.local_user("breakglass", (Role.SYSADMIN,))
    page = console.new_page("ja")
    page.goto(console.url("/console/sign-in"))
    # keyboard only: open the break-glass form, tab through it, Enter submits
    page.get_by_text("緊急用ローカルアカウント").focus()
    page.keyboard.press("Enter")
    page.locator("#username").focus()
    page.keyboard.type("breakglass")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    expect(page.get_by_role("img", name=re.compile("QR"))).to_be_visible()
    console.screenshot(page, "totp-enrolment")
    from iam_service.services import totp

    secret = page.get_by_test_id("totp-secret").inner_text()
    page.locator("#code").fill(totp.code_at(secret, console.container.clock.now()))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", name="システム管理者ホーム")).to_be_visible()
    console.screenshot(page, "home-sysadmin")
    page.get_by_role("link", name="処理キュー").first.click()
    expect(page.get_by_role("heading", name="停止した処理")).to_be_visible()
    console.screenshot(page, "operations")

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_role("status")).to_have_text("サインアウトしました。")
    page.goto(console.url("/console/operations"))
    expect(page.get_by_role("heading", name="サインイン")).to_be_visible()


def test_the_language_switch_shows_english_and_japanese(console: Console) -> None:
    officer = console.person(
        "E5003", given="Kenji", family="Sato", roles=(Role.SECURITY_OFFICER,)
    )
    page = console.sign_in(officer, lang="ja")
    expect(page.get_by_role("heading", name="管理責任者ホーム")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ja")

    page.get_by_role("button", name="English").click()

    expect(page.get_by_role("heading", name="Security officer home")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("link", name="Systems register").click()
    expect(
        page.get_by_role("heading", name=re.compile("Systems register"))
    ).to_be_visible()
    console.screenshot(page, "systems-en")
    page.get_by_role("link", name="Console roles").click()
    console.screenshot(page, "roles-en")
    page.get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", name="コンソールの役割")).to_be_visible()


def test_an_english_browser_gets_english_until_it_switches(console: Console) -> None:
    page = console.new_page("en")
    page.goto(console.url("/console/sign-in"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", name="サインイン")).to_be_visible()


def test_the_auditor_browses_the_trail_and_sees_the_chain_verified(
    console: Console,
) -> None:
    auditor = console.person("E5004", given="Aoi", family="Kato", roles=(Role.AUDITOR,))
    page = console.sign_in(auditor)
    expect(page.get_by_role("heading", name="監査ホーム")).to_be_visible()
    console.screenshot(page, "home-auditor")
    page.get_by_role("link", name="監査ログ").first.click()

    # htmx (served from node_modules) loads the chain check into the page
    expect(page.get_by_text("改ざんなし")).to_be_visible()
    page.get_by_label("操作").fill("console.")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.get_by_role("cell", name="console.signed_in").first).to_be_visible()
    console.screenshot(page, "audit")
    # read-only (5.35): the roles page shows no form to change anything
    page.get_by_role("link", name="コンソールの役割").click()
    expect(page.get_by_role("heading", name="付与済みの役割")).to_be_visible()
    expect(page.get_by_role("heading", name="役割を付与する")).to_have_count(0)
    expect(page.get_by_role("button", name="取り消す")).to_have_count(0)


def test_a_person_with_two_roles_switches_between_their_homes(
    console: Console,
) -> None:
    member = console.person("E5005", roles=(Role.HR,), head_of="SALES")
    page = console.sign_in(member)
    expect(page.get_by_role("heading", name="人事ホーム")).to_be_visible()

    page.get_by_label("表示する役割").select_option("department_head")
    page.get_by_role("button", name="切替").click()

    expect(page.get_by_role("heading", name="部門責任者ホーム")).to_be_visible()
    console.screenshot(page, "home-department-head")
