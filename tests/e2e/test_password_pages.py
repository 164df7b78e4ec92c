"""The password pages in headless Chromium (5.17's interactive function):
feedback appears while the person types, in Japanese when the browser asks
for it, and a person changes their own AD password (in-memory AD here; the
real Samba AD is in tests/integration/test_password_self_service_ad.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from connectors.base import AccountRef, Secret
from connectors.fake import FakeConnector
from tests.support.console import Console
from tests.support.service import drain

pytestmark = pytest.mark.browser
OLD = "Birch-Lantern-58!"
NEW = "Violet#Harbor-2917"


def test_feedback_while_typing_is_in_japanese(console: Console) -> None:
    member = console.person("E6101", given="Aoi", family="Takeda")
    page = console.sign_in(member, lang="ja")
    page.goto(console.url("/console/passwords/check"))
    expect(page.get_by_role("heading", name="パスワードの確認")).to_be_visible()
    field = page.locator("#check-password")
    field.press_sequentially("Password1!", delay=20)
    verdict = page.get_by_test_id("password-verdict")
    expect(verdict).to_have_attribute("data-ok", "false")
    expect(verdict).to_contain_text("よく使われるパスワード")
    expect(page.get_by_test_id("password-warning")).to_contain_text(
        "よく使われるパスワードに似ています"
    )
    console.screenshot(page, "password-check")
    field.fill("blue-Tangerine-orbit-42")
    expect(verdict).to_have_attribute("data-ok", "true")
    expect(verdict).to_contain_text("すべての規則を満たしています")


def test_feedback_is_in_english_for_an_english_browser(console: Console) -> None:
    member = console.person("E6102", given="Noah", family="Fujii")
    page = console.sign_in(member, lang="en")
    page.goto(console.url("/console/passwords/check"))
    page.locator("#check-password").press_sequentially("abc123", delay=20)
    expect(page.get_by_test_id("password-failures")).to_contain_text(
        "Use at least 8 characters"
    )


def test_a_person_changes_their_own_password(
    console: Console, fake_ad: FakeConnector
) -> None:
    member = console.person("E6103", given="Mio", family="Hayashi")
    drain(console.container)
    with console.container.uow() as uow:
        person = uow.persons.by_employee_id("E6103")
        assert person is not None and person.id is not None
        [account] = uow.accounts.for_person(person.id)
    assert account.native_id is not None
    ref = AccountRef(account.native_id, account.username)
    fake_ad.set_password(ref, Secret(OLD), must_change=False)

    page = console.sign_in(member, lang="ja")
    page.get_by_role("link", name="パスワード").click()
    expect(page.get_by_role("heading", name="パスワードの変更")).to_be_visible()
    page.locator("#change-current").fill("Wrong-Guess-4471!")
    page.locator("#change-new").press_sequentially(NEW, delay=10)
    expect(page.get_by_test_id("password-verdict")).to_have_attribute("data-ok", "true")
    console.screenshot(page, "password-change")
    page.get_by_role("button", name="パスワードを変更").click()
    expect(page.get_by_test_id("password-error")).to_contain_text(
        "現在のパスワードが正しくありません"
    )
    page.locator("#change-current").fill(OLD)
    page.locator("#change-new").fill(NEW)
    page.get_by_role("button", name="パスワードを変更").click()
    expect(page.get_by_role("status")).to_contain_text(
        "新しいパスワードを設定しています"
    )
    assert drain(console.container) == 1
    assert fake_ad.check_password(ref, Secret(NEW))
    assert not fake_ad.check_password(ref, Secret(OLD))
