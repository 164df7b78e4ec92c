"""The offboarding and asset pages of the console, signed in through Entra
ID (the Graph test server) over HTTP: what HR, the security officer and a
system administrator see and can do; refused forms write nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from iam_service.domain.assets import AssetCreate
from iam_service.domain.security import Role
from tests.support.console import ConsoleHttp, Staff, csrf_of
from tests.support.offboarding import audit_count
from tests.support.service import drain


def _leaver(staff: Staff, employee_id: str) -> tuple[str, str]:
    staff.person(employee_id, entra=False)
    drain(staff.container)
    assets = staff.container.offboarding.assets
    laptop = assets.create(
        AssetCreate(
            asset_type="laptop",
            tag=f"LT-{employee_id}",
            description="ThinkPad X1",
            holder_employee_id=employee_id,
        ),
        "test",
    )
    card = assets.create(
        AssetCreate(
            asset_type="security_card",
            tag=f"CARD-{employee_id}",
            card_number=f"9{employee_id[-3:]}",
            holder_employee_id=employee_id,
        ),
        "test",
    )
    staff.terminate(employee_id)
    drain(staff.container)
    return laptop["tag"], card["tag"]


def _post(tc: TestClient, page: str, action: str, data: dict[str, str]) -> object:
    token = csrf_of(tc.get(page).text)
    return tc.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def test_hr_works_a_case_to_its_close_in_the_console(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    laptop, card = _leaver(staff, "E7001")
    hr = console_http.sign_in(staff.person("E7010", roles=(Role.HR,)))
    listing = hr.get("/console/offboarding")
    assert listing.status_code == 200 and "E7001" in listing.text
    [case] = staff.container.offboarding.cases.for_person("E7001")
    page = f"/console/offboarding/{case['id']}"
    shown = hr.get(page).text
    assert "ThinkPad X1" in shown and "入退室管理システム" in shown
    assert "無効化（確認済）" in shown  # the AD account, as read back
    assert "ケースを完了する" not in shown  # outstanding: no close button

    before = audit_count(staff.container)
    refused = _post(hr, page, f"{page}/close", {})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    no_reason = _post(hr, page, f"{page}/assets/{laptop}/write-off", {"kind": "lost"})
    assert no_reason.status_code == 422  # type: ignore[attr-defined]
    assert audit_count(staff.container) == before

    for tag in (laptop, card):
        done = _post(
            hr,
            page,
            f"{page}/assets/{tag}/return",
            {"condition": "good", "received_by": "総務部 受付"},
        )
        assert done.status_code == 303  # type: ignore[attr-defined]
    task = next(
        i
        for i in staff.container.offboarding.cases.get(case["id"])["items"]
        if i["kind"] == "card_deactivation"
    )
    _post(
        hr,
        page,
        f"{page}/items/{task['id']}/complete",
        {"resolution": "deactivated", "note": "受付で無効化"},
    )
    assert "ケースを完了する" in hr.get(page).text
    closed = _post(hr, page, f"{page}/close", {"note": "全て返却済"})
    assert closed.status_code == 303  # type: ignore[attr-defined]
    after = hr.get(closed.headers["location"]).text  # type: ignore[attr-defined]
    assert "ケースを完了しました。" in after


def test_the_security_officer_approves_a_write_off_the_requester_cannot(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    laptop, _ = _leaver(staff, "E7002")
    officer = staff.person("E7020", roles=(Role.SECURITY_OFFICER, Role.HR))
    tc = console_http.sign_in(officer)
    [case] = staff.container.offboarding.cases.for_person("E7002")
    page = f"/console/offboarding/{case['id']}"
    base = f"{page}/assets/{laptop}/write-off"
    _post(tc, page, base, {"kind": "lost", "reason": "電車に置き忘れ"})
    own = _post(tc, page, f"{base}/approve", {})
    assert own.status_code == 403  # type: ignore[attr-defined]
    other = console_http.sign_in(staff.person("E7021", roles=(Role.SECURITY_OFFICER,)))
    home = other.get("/console/").text
    assert "承認待ちの除却が 1 件あります。" in home
    approved = _post(other, page, f"{base}/approve", {"note": "警察へ届出済"})
    assert approved.status_code == 303  # type: ignore[attr-defined]
    item = next(
        i
        for i in staff.container.offboarding.cases.get(case["id"])["items"]
        if i["asset"] and i["asset"]["tag"] == laptop and i["kind"] == "asset_return"
    )
    assert item["status"] == "written_off"


def test_the_register_page_imports_a_csv_or_shows_its_bad_rows(
    staff: Staff, console_http: ConsoleHttp
) -> None:
    admin = console_http.sign_in(staff.person("E7030", roles=(Role.SYSADMIN,)))
    token = csrf_of(admin.get("/console/assets").text)
    bad = b"asset_type,tag,serial\nlaptop,LT-70,SN-70\nlaptop,LT-71,SN-70\n"
    shown = admin.post(
        "/console/assets/import",
        data={"csrf_token": token},
        files={"file": ("assets.csv", bad, "text/csv")},
    )
    assert shown.status_code == 422
    assert "serial SN-70 is already used on line 2" in shown.text
    assert staff.container.offboarding.assets.find() == []
    good = bad.replace(b"LT-71,SN-70", b"LT-71,SN-71")
    done = admin.post(
        "/console/assets/import",
        data={"csrf_token": token},
        files={"file": ("assets.csv", good, "text/csv")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    listing = admin.get("/console/assets?type=laptop").text
    assert "LT-70" in listing and "LT-71" in listing
    reports = admin.get("/console/offboarding/reports")
    assert reports.status_code == 200 and "部門別の未返却資産" in reports.text
