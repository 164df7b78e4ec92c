"""Our own words for passwords: every zxcvbn message has a Japanese
translation, every rule a message, and the shipped blocklist is exactly what
its generator makes (its provenance, ADR 0026)."""

from __future__ import annotations

import ast
import inspect

import pytest
import zxcvbn.feedback

from iam_service.adapters.password_blocklist import SHIPPED, load_blocklist
from iam_service.domain.password_rules import Rule
from iam_service.web.password_feedback import ZXCVBN_KEYS, translate_zxcvbn
from iam_service.web.ui.i18n import LANGUAGES, Translator, catalogue
from tools.password_blocklist import render


def zxcvbn_messages() -> set[str]:
    """Every string zxcvbn's feedback module passes to gettext ``_()``."""
    tree = ast.parse(inspect.getsource(zxcvbn.feedback))
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
        ):
            found.add(ast.literal_eval(node.args[0]))
    return found


def test_every_zxcvbn_message_is_in_our_catalogue() -> None:
    known = set(ZXCVBN_KEYS) | {"No need for symbols, digits, or uppercase letters."}
    assert zxcvbn_messages() == known


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_and_rule_has_a_message(lang: str) -> None:
    messages = catalogue(lang)
    for key in ZXCVBN_KEYS.values():
        assert f"passwords.zxcvbn.{key}" in messages
    for rule in Rule:
        assert f"passwords.rule.{rule}" in messages


def test_japanese_translations_are_japanese() -> None:
    t = Translator("ja")
    for english in ZXCVBN_KEYS:
        assert translate_zxcvbn(english, t) != english
    assert translate_zxcvbn("A message zxcvbn may add one day.", t) == (
        "A message zxcvbn may add one day."
    )


def test_the_shipped_blocklist_is_what_the_tool_makes() -> None:
    assert SHIPPED.read_text(encoding="utf-8") == render()


@pytest.mark.parametrize(
    "password",
    ["Password1!", "P@ssw0rd", "Qwerty123", "1qaz2wsx", "Sakura2024!", "12345678"],
)
def test_the_shipped_blocklist_refuses_common_patterns(password: str) -> None:
    assert load_blocklist().contains(password)


@pytest.mark.parametrize(
    "password", ["Kx9#mq2!Lp", "blue-Tangerine-orbit-42", "Violet#Harbor-2917"]
)
def test_the_shipped_blocklist_leaves_good_passwords_alone(password: str) -> None:
    assert not load_blocklist().contains(password)
