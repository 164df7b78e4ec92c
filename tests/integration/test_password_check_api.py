"""The interactive password check (5.17) over the API: which rule fails,
zxcvbn's score and feedback in the reader's language, rate-limited, and the
password never kept, logged or echoed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from iam_service.adapters import orm
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.hr import HrEvent
from iam_service.domain.security import Role
from iam_service.services.errors import InvalidInput
from iam_service.services.password_services import CHECKS_PER_MINUTE
from iam_service.web.app import create_app
from tests.support.service import hire

Api = Callable[[Role], TestClient]
CHECK = "/api/v1/passwords/check"


def rules_of(answer: dict[str, object]) -> set[str]:
    return {f["rule"] for f in answer["failures"]}  # type: ignore[attr-defined]


def test_password1_is_refused_as_common_with_feedback_in_english(api: Api) -> None:
    answer = api(Role.HR).post(
        CHECK, json={"password": "Password1!"}, headers={"Accept-Language": "en"}
    )
    assert answer.status_code == 200
    found = answer.json()
    assert found["ok"] is False
    assert "common" in rules_of(found)
    assert found["score"] < found["min_score"] == 3
    assert found["warning"] == "This is similar to a commonly used password."
    assert (
        "Add another word or two. Uncommon words are better." in (found["suggestions"])
    )
    assert "Password1!" not in answer.text


def test_feedback_is_in_japanese_when_the_browser_asks(api: Api) -> None:
    client = api(Role.SYSADMIN)
    answer = client.post(
        CHECK,
        json={"password": "Password1!"},
        headers={"Accept-Language": "ja,en;q=0.5"},
    ).json()
    assert answer["lang"] == "ja"
    assert answer["warning"] == "よく使われるパスワードに似ています。"
    assert (
        "単語をもう1つか2つ加えてください。珍しい単語ほど効果的です。"
        in (answer["suggestions"])
    )
    messages = {f["rule"]: f["message"] for f in answer["failures"]}
    assert "よく使われるパスワード" in messages["common"]
    # A lang parameter wins over the header.
    english = client.post(
        CHECK + "?lang=en", json={"password": "abc"}, headers={"Accept-Language": "ja"}
    ).json()
    assert english["lang"] == "en"
    assert {f["rule"]: f["message"] for f in english["failures"]}["too_short"] == (
        "Use at least 8 characters (5.17)."
    )


# 5.17: at least 8 characters, several kinds among upper, lower, digits, symbols.
@pytest.mark.parametrize(
    ("password", "ok", "broken"),
    [
        ("Kx9#mq2!Lp", True, set()),
        ("blue-Tangerine-orbit-42", True, set()),
        ("Kx9#mq", False, {"too_short"}),
        ("kqzvmwxtrbnd", False, {"too_few_kinds"}),
        ("P@ssw0rd2024", False, {"common"}),
    ],
)
def test_the_5_17_examples(api: Api, password: str, ok: bool, broken: set[str]) -> None:
    found = api(Role.HR).post(CHECK, json={"password": password, "lang": "en"}).json()
    assert found["ok"] is ok
    assert broken <= rules_of(found)


def test_a_persons_names_and_user_name_are_context(
    container: Container, api: Api
) -> None:
    body = hire("E7001", given_name="Sayaka", family_name="Kurosawa")
    container.hr_intake.submit(HrEvent.model_validate(body), actor="test")
    client = api(Role.HR)
    mine = client.post(
        CHECK, json={"password": "Kurosawa#2031!x", "employee_id": "E7001"}
    ).json()
    assert "personal" in rules_of(mine)
    stranger = client.post(CHECK, json={"password": "Kurosawa#2031!x"}).json()
    assert "personal" not in rules_of(stranger)
    named = client.post(
        CHECK, json={"password": "zq-skurosawa-77!", "username": "skurosawa"}
    ).json()
    assert "personal" in rules_of(named)
    unknown = client.post(CHECK, json={"password": "x", "employee_id": "E9999"})
    assert unknown.status_code == 404


def test_checks_need_a_caller_and_are_rate_limited(
    container: Container, clock: FrozenClock, api: Api
) -> None:
    anonymous = TestClient(create_app(container))
    assert anonymous.post(CHECK, json={"password": "Kx9#mq2!Lp"}).status_code == 401
    client = api(Role.AUDITOR)
    for _ in range(CHECKS_PER_MINUTE):
        assert client.post(CHECK, json={"password": "Kx9#mq2!Lp"}).status_code == 200
    limited = client.post(CHECK, json={"password": "Kx9#mq2!Lp"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_requests"
    other = api(Role.HR)  # another caller is not held up
    assert other.post(CHECK, json={"password": "Kx9#mq2!Lp"}).status_code == 200
    clock.advance(timedelta(minutes=1))
    assert client.post(CHECK, json={"password": "Kx9#mq2!Lp"}).status_code == 200


def test_the_password_is_never_stored_logged_or_echoed(
    container: Container, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = api(Role.HR)
    secret = "Unique-Check-Value-7731!"
    with container.engine.connect() as connection:
        before = connection.scalar(select(func.count()).select_from(orm.audit_records))
    assert client.post(CHECK, json={"password": secret}).status_code == 200
    for bad in (
        {"password": secret, "unexpected": True},
        {"password": secret, "employee_id": "not an id!"},
        {"password": secret * 60},
    ):
        answer = client.post(CHECK, json=bad)
        assert answer.status_code == 422
        assert secret not in answer.text
    broken = client.post(
        CHECK,
        content=b'{"password": "' + secret.encode(),
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and secret not in broken.text
    assert secret not in caplog.text
    with container.engine.connect() as connection:
        after = connection.scalar(select(func.count()).select_from(orm.audit_records))
    assert after == before  # a check is not an event: nothing written


def test_local_administrator_passwords_follow_the_rules(container: Container) -> None:
    """A break-glass password is accepted too: the same rules (5.17) apply."""
    with pytest.raises(InvalidInput) as refused:
        container.auth.create_local_user(
            "breakglass2", "Password2024!", [Role.SYSADMIN], actor="test"
        )
    assert {d["rule"] for d in refused.value.details} >= {"common"}
    with pytest.raises(InvalidInput):  # holds the user name
        container.auth.create_local_user(
            "oyamada", "oyamada-Kx9#mq2!Lp", [Role.SYSADMIN], actor="test"
        )
    container.auth.create_local_user(
        "breakglass2", "Violet#Harbor-2917", [Role.SYSADMIN], actor="test"
    )
