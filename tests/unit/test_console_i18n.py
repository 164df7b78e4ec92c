"""The console's message catalogues: both languages say everything the
templates and page modules ask for (ADR 0014)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iam_service.domain.model import AccountStatus, Classification, PersonStatus
from iam_service.domain.operations import OperationStatus
from iam_service.domain.privileged import (
    AccountSource,
    Flag,
    HandoverStatus,
    HandoverTrigger,
    RotationCheck,
    RotationKind,
    RotationState,
)
from iam_service.domain.register import ApprovalState
from iam_service.domain.security import Role
from iam_service.services.rotation_views import SUPERSEDED
from iam_service.web.ui.i18n import (
    LANGUAGES,
    Translator,
    catalogue,
    choose_language,
)
from iam_service.web.ui.rendering import environment

UI = Path(__file__).resolve().parents[2] / "iam_service" / "web" / "ui"
# t("key") in templates; NavEntry/HomeSection labels and notices in modules.
_TEMPLATE_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
_MODULE_KEY = re.compile(r"""["']((?:nav|home|notice|error)\.[a-z0-9_.]+)["']""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (UI / "templates").rglob("*.html"):
        keys |= set(_TEMPLATE_KEY.findall(path.read_text(encoding="utf-8")))
    for path in (UI / "pages").rglob("*.py"):
        keys |= set(_MODULE_KEY.findall(path.read_text(encoding="utf-8")))
    # "status." ~ value is checked below, enumeration by enumeration
    keys = {k for k in keys if not k.endswith((".", ".html"))}
    statuses = [*PersonStatus, *OperationStatus, *AccountStatus, *ApprovalState]
    keys |= {f"status.{s.value}" for s in statuses}
    keys |= {f"role.{r.value}" for r in Role} | {f"home.title.{r.value}" for r in Role}
    keys |= {f"classification.{c.value}" for c in Classification}
    keys |= privileged_keys()
    keys |= {
        f"error.{code}"
        for code in ("sign_in_refused", "account_locked", "too_many_attempts")
    }
    return keys


def privileged_keys() -> set[str]:
    """The privileged-account pages' ``"privileged.<group>." ~ value`` keys."""
    groups = {
        "flag": [*Flag],
        "source": [*AccountSource],
        "kind": [*RotationKind],
        "state": [*RotationState, SUPERSEDED],
        "trigger": [*HandoverTrigger],
        "handover_status": [*HandoverStatus],
        # every code the rotation step can write, in words (8.32)
        "check": [*RotationCheck],
    }
    return {f"privileged.{g}.{v}" for g, values in groups.items() for v in values}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_in_use_has_a_message(lang: str) -> None:
    missing = sorted(used_keys() - catalogue(lang).keys())
    assert not missing, f"{lang} lacks {missing}"


def test_both_languages_have_the_same_keys() -> None:
    ja, en = catalogue("ja").keys(), catalogue("en").keys()
    assert sorted(ja - en) == [] and sorted(en - ja) == []


def test_placeholders_match_between_languages() -> None:
    ja, en = catalogue("ja"), catalogue("en")
    for key, text in ja.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(
            re.findall(r"{(\w+)}", en[key])
        ), key


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        ("en", "ja", "en"),  # the switch wins
        (None, "en-GB,en;q=0.9,ja;q=0.8", "en"),
        (None, "fr-FR,ja;q=0.5,en;q=0.4", "ja"),
        (None, "fr-FR", "ja"),  # the organisation's language
        ("xx", None, "ja"),
        (None, "ja;q=0.2, en;q=0.9", "en"),
    ],
)
def test_the_language_is_the_switch_then_the_browser_then_ours(
    cookie: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(cookie, accept, "ja") == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_rotations_checks_show_in_words_and_an_unknown_one_as_its_code(
    lang: str,
) -> None:
    t = Translator(lang)
    codes = [*(c.value for c in RotationCheck), "checked_by_a_newer_worker"]
    rotation = {
        "id": 1,
        "kind": "automatic",
        "state": "verified",
        "account": {"id": 1, "system": "ad", "username": "adm-x"},
        "recipient": None,
        "checks": codes,
        "error": None,
        "collectable": False,
    }
    html = (
        environment()
        .get_template("privileged/_rotations.html")
        .render(t=t, handover={"rotations": [rotation]}, me=None, csrf_field="")
    )
    shown = dict(re.findall(r'<li data-check="([a-z_]+)">([^<]*)</li>', html))
    assert shown == {
        **{c.value: t(f"privileged.check.{c.value}") for c in RotationCheck},
        "checked_by_a_newer_worker": "checked_by_a_newer_worker",
    }
    assert all(shown[c.value] != c.value for c in RotationCheck)
