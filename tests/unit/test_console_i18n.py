"""The console's message catalogues: both languages say everything the
templates and page modules ask for (ADR 0014)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iam_service.domain.model import AccountStatus, Classification, PersonStatus
from iam_service.domain.operations import OperationStatus
from iam_service.domain.register import ApprovalState
from iam_service.domain.security import Role
from iam_service.web.ui.i18n import LANGUAGES, catalogue, choose_language

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
    keys |= {
        f"error.{code}"
        for code in ("sign_in_refused", "account_locked", "too_many_attempts")
    }
    return keys


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
