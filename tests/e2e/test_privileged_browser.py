"""Privileged accounts in headless Chromium (Debian's, through Playwright):

* the security officer runs discovery and sees the accounts that need
  attention, flagged in Japanese (8.2: no approval, no owner, the owner
  left, a custodian left and nobody named yet);
* the security officer hands a custodian's accounts over to a successor
  (5.18); after the worker has changed the directory password, the
  successor signs in, opens the one-time link and sees the new password
  once (5.17); the same link then answers 410 Gone; the manual system's
  password is set by hand and confirmed, and the handover is done;
* HR sees the asset register.

The directory is the fake AD connector; the queue, the secret store and
the one-time links are the service's own. Screenshots go to
docs/screenshots/. Dummy data only (8.33).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from connectors.base import Secret
from connectors.fake import FakeConnector
from iam_service.bootstrap import Container
from iam_service.domain.assets import AssetCreate, AssetType
from iam_service.domain.privileged import OwnerKind
from iam_service.domain.privileged_requests import (
    ApprovalCreate,
    CustodianChange,
    ManualAccountCreate,
    OwnerUpdate,
)
from iam_service.domain.security import Role
from tests.support.console import Console
from tests.support.privileged import OFFICER, SYSADMIN, admin_account, manual_system
from tests.support.service import drain

pytestmark = pytest.mark.browser

OLD = "Old-Admin-Passw0rd!"


def _account_id(c: Container, username: str) -> int:
    [found] = [
        a for a in c.privileged.inventory.accounts() if a["username"] == username
    ]
    return int(str(found["id"]))


def _manual_account(c: Container, key: str, username: str, keeper: str) -> int:
    view = c.privileged.inventory.register_manual(
        ManualAccountCreate(
            system_key=key,
            username=username,
            description="fs01 local administrator",
            owner=OwnerUpdate(kind=OwnerKind.PERSON, employee_id=keeper),
            custodians=(keeper,),
        ),
        SYSADMIN,
    )
    return int(str(view["id"]))


def _row(page: Any, username: str) -> Any:
    return page.locator("tbody tr").filter(has_text=username)


def test_the_officer_sees_what_needs_attention_in_japanese(
    console: Console, fake_ad: FakeConnector
) -> None:
    c = console.container
    console.person(
        "E8101", department="IT", title="Engineer", given="Ren", family="Ito"
    )
    console.person(
        "E8102", department="IT", title="Engineer", given="Daichi", family="Kato"
    )
    drain(c)
    # Known and in order: discovered earlier, owned, approved.
    admin_account(fake_ad, "adm-backup", OLD)
    c.privileged.discovery.discover(actor="test")
    backup = _account_id(c, "adm-backup")
    c.privileged.inventory.set_owner(
        backup,
        OwnerUpdate(kind=OwnerKind.SERVICE, employee_id="E8101", service_name="Backup"),
        SYSADMIN,
    )
    c.privileged.inventory.approve(
        backup,
        ApprovalCreate(reason="nightly backups", authorisation="CAB-12"),
        OFFICER,
    )
    # A manual system's administrator whose owner and custodian leaves.
    _manual_account(c, manual_system(c), "Administrator", "E8102")
    console.staff.terminate("E8102")
    drain(c)
    # Someone made a new admin behind our back: discovery must find it.
    admin_account(fake_ad, "adm-temp", OLD)

    officer = console.person(
        "E8100",
        department="IT",
        roles=(Role.SECURITY_OFFICER,),
        given="Aoi",
        family="Nakamura",
    )
    page = console.sign_in(officer)
    page.get_by_role("link", name="特権アカウント").first.click()
    expect(page).to_have_url(re.compile("/console/privileged$"))
    expect(_row(page, "adm-temp")).to_have_count(0)
    page.get_by_role("button", name="今すぐ検出").click()
    expect(page.get_by_role("status").first).to_contain_text("検出を実行し")

    new = _row(page, "adm-temp")
    expect(new).to_contain_text("Domain Admins")
    expect(new).to_contain_text("承認なし")
    expect(new).to_contain_text("所有者不明")
    left = _row(page, "Administrator")
    expect(left).to_contain_text("手作業で登録")
    expect(left).to_contain_text("承認なし")
    expect(left).to_contain_text("所有者退職")
    expect(left).to_contain_text("後任者未指名")  # its custodian left (5.18)
    fine = _row(page, "adm-backup")
    expect(fine).to_contain_text("承認済み")
    expect(fine).to_contain_text("問題なし")
    console.screenshot(page, "privileged-inventory")

    # The checkbox sits on the line of its label, not above it.
    box = page.get_by_label("要対応のみ表示").bounding_box()
    words = page.locator("label.check").bounding_box()
    assert box is not None and words is not None
    middle = box["y"] + box["height"] / 2
    assert abs(middle - (words["y"] + words["height"] / 2)) < 3  # one line
    assert box["x"] - words["x"] < 8  # at its start
    page.get_by_label("要対応のみ表示").check()
    page.get_by_role("button", name="絞り込み").click()
    expect(_row(page, "adm-temp")).to_have_count(1)
    expect(_row(page, "Administrator")).to_have_count(1)
    expect(_row(page, "adm-backup")).to_have_count(0)


def test_a_handover_shows_the_new_password_once_to_the_successor(
    console: Console, fake_ad: FakeConnector
) -> None:
    c = console.container
    console.person(
        "E8201", department="IT", title="Engineer", given="Kenta", family="Mori"
    )
    successor = console.person(
        "E8202", department="IT", title="Engineer", given="Yui", family="Sato"
    )
    drain(c)
    ref = admin_account(fake_ad, "adm-net", OLD)
    c.privileged.discovery.discover(actor="test")
    network = _account_id(c, "adm-net")
    c.privileged.inventory.add_custodian(
        network, CustodianChange(employee_id="E8201"), SYSADMIN
    )
    _manual_account(c, manual_system(c), "Administrator", "E8201")

    officer = console.person(
        "E8200",
        department="IT",
        roles=(Role.SECURITY_OFFICER,),
        given="Aoi",
        family="Nakamura",
    )
    page = console.sign_in(officer)
    page.goto(console.url("/console/privileged"))
    page.get_by_role("link", name="引き継ぎ", exact=True).click()
    page.get_by_label("前任の管理者（社員番号）").fill("E8201")
    page.get_by_label("後任者（社員番号）").fill("E8202")
    page.get_by_label("理由").fill("ネットワーク担当の交代")
    page.get_by_role("button", name="引き継いでパスワードを変更").click()
    expect(page.get_by_role("status").first).to_contain_text("引き継ぎを開始しました")
    expect(_row(page, "adm-net")).to_contain_text("待機中")
    expect(_row(page, "Administrator")).to_contain_text("機器への設定待ち")

    drain(c)  # the worker changes the directory password (5.18: promptly)
    page.reload()
    expect(_row(page, "adm-net")).to_contain_text("変更・確認済み")
    expect(_row(page, "adm-net")).to_contain_text("E8202")
    # What the worker verified, in words (8.32); the notice showed only once.
    expect(_row(page, "adm-net")).to_contain_text("新しいパスワードでログインできる")
    expect(_row(page, "adm-net")).not_to_contain_text("new_binds")
    expect(page.get_by_text("引き継ぎを開始しました")).to_have_count(0)
    console.screenshot(page, "privileged-handover")
    assert not fake_ad.check_password(ref, Secret(OLD))

    mine = console.sign_in(successor)
    mine.get_by_role("link", name="自分の引き継ぎ").first.click()
    mine.get_by_role("link", name=re.compile(r"引き継ぎ #\d+")).click()
    _row(mine, "adm-net").get_by_role("button", name="ワンタイムリンクを開く").click()
    expect(mine).to_have_url(re.compile("/console/privileged/secrets/"))
    link = mine.url
    expect(mine.get_by_text("一度だけ表示され")).to_be_visible()
    mine.get_by_role("button", name="パスワードを表示").click()
    shown = mine.get_by_test_id("password")
    expect(shown).to_be_visible()
    expect(mine.get_by_text("この表示は一度きりです")).to_be_visible()
    password = shown.inner_text().strip()
    assert fake_ad.check_password(ref, Secret(password))  # the one now set
    console.screenshot(mine, "privileged-secret")

    again = mine.goto(link)
    assert again is not None and again.status == 410
    expect(mine.get_by_text("このリンクは無効です（410 Gone）")).to_be_visible()
    expect(mine.get_by_test_id("password")).to_have_count(0)

    # The file server has no API: its new password is set by hand.
    mine.get_by_role("link", name="自分に引き継がれたパスワード").click()
    mine.get_by_role("link", name=re.compile(r"引き継ぎ #\d+")).click()
    expect(_row(mine, "adm-net")).to_contain_text("表示済み・破棄")
    manual = _row(mine, "Administrator")
    manual.get_by_role("button", name="ワンタイムリンクを開く").click()
    mine.get_by_role("button", name="パスワードを表示").click()
    expect(mine.get_by_test_id("password")).not_to_be_empty()
    expect(mine.get_by_text("このパスワードを機器に設定し")).to_be_visible()
    mine.get_by_role("link", name="完了").click()
    mine.get_by_role("link", name=re.compile(r"引き継ぎ #\d+")).click()
    _row(mine, "Administrator").get_by_role("button", name="設定しました").click()
    expect(mine.get_by_role("status").first).to_contain_text("設定を記録しました")
    handover = mine.locator("p").filter(has_text=re.compile(r"引き継ぎ #\d+"))
    expect(handover).to_contain_text("完了")  # every password handed over


def test_hr_sees_the_asset_register(console: Console) -> None:
    c = console.container
    console.person("E8301", given="Haruto", family="Suzuki")
    console.person("E8302", department="IT", given="Mei", family="Takahashi")
    drain(c)
    for body in (
        AssetCreate(
            asset_type=AssetType.LAPTOP,
            tag="LT-8301",
            serial="PF-7Q2M",
            description="ThinkPad T14",
            holder_employee_id="E8301",
        ),
        AssetCreate(
            asset_type=AssetType.SECURITY_CARD,
            tag="CARD-8301",
            card_number="70301",
            holder_employee_id="E8301",
        ),
        AssetCreate(
            asset_type=AssetType.PHONE,
            tag="PH-8302",
            serial="IMEI-0000-8302",
            description="iPhone SE",
            holder_employee_id="E8302",
        ),
        AssetCreate(
            asset_type=AssetType.SECURITY_CARD, tag="CARD-SPARE-1", card_number="70900"
        ),
    ):
        c.offboarding.assets.create(body, "test")
    hr = console.person("E8300", roles=(Role.HR,), given="Sakura", family="Yamada")
    page = console.sign_in(hr)
    page.get_by_role("link", name="資産台帳").first.click()
    expect(page.get_by_role("heading", name="資産台帳")).to_be_visible()
    laptop = _row(page, "LT-8301")
    expect(laptop).to_contain_text("ノートPC")
    expect(laptop).to_contain_text("Haruto Suzuki")
    expect(laptop).to_contain_text("使用中")
    expect(_row(page, "CARD-SPARE-1")).to_contain_text("予備")
    console.screenshot(page, "assets")
