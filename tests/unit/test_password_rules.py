"""Password rules (5.17, 8.5): what passes, what fails and why; generated
passwords always pass, ours and the target's rules together."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iam_service.domain.password_rules import (
    SYMBOLS,
    Blocklist,
    CharacterKind,
    PasswordContext,
    PasswordRules,
    Rule,
    TargetRules,
    check,
    generate,
    kinds_in,
)

RULES = PasswordRules()
BLOCKLIST = Blocklist(["password", "qwerty", "letmein", "sakura", "123456789"])
YAMADA = PasswordContext(
    rules=RULES,
    names=("Taro", "Yamada", "tyamada"),
    company=("Example Trading",),
    blocklist=BLOCKLIST,
)


def failed(password: str, context: PasswordContext = YAMADA) -> set[Rule]:
    return set(check(password, context).failed)


# 5.17: "at least 8 characters, using several kinds among letters (upper and
# lower case), digits and symbols". The clause's own examples, one per rule.
@pytest.mark.parametrize(
    ("password", "broken"),
    [
        ("Kx9#mq", {Rule.TOO_SHORT}),  # 6 characters, four kinds
        ("kqzvmwxtrbnd", {Rule.TOO_FEW_KINDS}),  # letters, lower case only
        ("KQZVMWXTRBND", {Rule.TOO_FEW_KINDS}),  # upper case only
        ("kqzvmWXTRBND", {Rule.TOO_FEW_KINDS}),  # two kinds: below our three
    ],
)
def test_the_5_17_minimums_refuse(password: str, broken: set[Rule]) -> None:
    assert broken <= failed(password)


@pytest.mark.parametrize(
    "password",
    [
        "Kx9#mq2!Lp",  # 10 characters, all four kinds
        "Vq7mTz4kWp9r",  # 12 characters: upper, lower, digits
        "blue-Tangerine-orbit-42",  # a passphrase with four kinds
        "Glacier!Mango&Tuba",  # upper, lower, symbols
    ],
)
def test_the_5_17_minimums_accept(password: str) -> None:
    result = check(password, YAMADA)
    assert result.ok, result.failures
    assert result.score >= 3


def test_password1_is_refused_as_common() -> None:
    result = check("Password1!", YAMADA)
    assert Rule.COMMON in result.failed
    assert result.warning  # zxcvbn says why


@pytest.mark.parametrize(
    "password", ["P@ssw0rd", "Password2024!", "!!Qwerty123", "L3tm31n#99", "SAKURA-77"]
)
def test_the_blocklist_sees_through_case_leetspeak_and_digits(password: str) -> None:
    assert BLOCKLIST.contains(password)
    assert Rule.COMMON in failed(password)


def test_names_user_name_and_company_lower_the_score() -> None:
    assert {Rule.PERSONAL} <= failed("Yamada#Taro2024")
    assert {Rule.PERSONAL} <= failed("xx-TYAMADA-9z!")
    assert Rule.PERSONAL not in failed("Kx9#mq2!Lp")
    # zxcvbn knows the company from the context: its name is not strength.
    company = check("ExampleTrading1!", YAMADA)
    stranger = check("ExampleTrading1!", PasswordContext(rules=RULES))
    assert company.score < stranger.score or Rule.TOO_GUESSABLE in company.failed


def test_a_weak_but_shapely_password_fails_on_zxcvbn_score() -> None:
    result = check("Abcd1234!", YAMADA)
    assert Rule.TOO_GUESSABLE in result.failed
    assert result.score < 3
    assert result.suggestions


def test_history_is_asked_only_when_known() -> None:
    recent = {"Kx9#mq2!Lp"}
    context = PasswordContext(rules=RULES, reused=recent.__contains__)
    assert Rule.REUSED in check("Kx9#mq2!Lp", context).failed
    assert Rule.REUSED not in check("Kx9#mq2!Lq", context).failed
    no_history = PasswordContext(rules=RULES.model_copy(update={"history": 0}))
    assert check("Kx9#mq2!Lp", no_history).ok


def test_very_long_passwords_are_scored_on_72_characters() -> None:
    long = ("Vq7mTz4kWp9r-" * 10)[:120]
    result = check(long, YAMADA)  # zxcvbn alone raises ValueError above 72
    assert Rule.TOO_LONG not in result.failed
    assert Rule.TOO_LONG in failed("Aa1!" * 40)  # 160 > 128


def test_control_characters_are_refused() -> None:
    assert Rule.FORBIDDEN_CHARACTER in failed("Kx9#mq2!\x00Lp")


def test_the_policy_can_ask_for_more_but_never_below_5_17() -> None:
    strict = PasswordRules(min_length=64, max_length=200, generated_length=80)
    assert Rule.TOO_SHORT in check("Kx9#mq2!Lp", PasswordContext(rules=strict)).failed
    with pytest.raises(ValidationError):
        PasswordRules(min_length=6)
    with pytest.raises(ValidationError):
        PasswordRules(min_kinds=1)
    with pytest.raises(ValidationError):
        PasswordRules(min_length=100, max_length=80)


def test_blocked_words_of_our_own() -> None:
    rules = PasswordRules(blocked_words=("kumquat",))
    assert Rule.COMMON in check("Kumquat#2024", PasswordContext(rules=rules)).failed


def test_a_result_never_holds_the_password() -> None:
    secret = "Kx9#mq2!Lp-unique"
    assert secret not in repr(check(secret, YAMADA))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=8, max_value=64))
def test_generated_passwords_always_pass(length: int) -> None:
    rules = PasswordRules(generated_length=max(length, 8))
    password = generate(rules)
    assert check(password, PasswordContext(rules=rules, blocklist=BLOCKLIST)).ok
    assert len(password) == max(length, 9)  # 8 random characters never score 3


TARGETS = st.builds(
    TargetRules,
    min_length=st.integers(1, 40),
    max_length=st.one_of(st.none(), st.integers(40, 256)),
    min_kinds=st.integers(1, 4),
    required_kinds=st.lists(st.sampled_from(list(CharacterKind)), max_size=2).map(
        tuple
    ),
    symbols=st.one_of(st.none(), st.just("!#%"), st.just("@")),
)


@settings(max_examples=300, deadline=None)
@given(TARGETS)
def test_generated_passwords_meet_the_targets_rules_too(target: TargetRules) -> None:
    password = generate(RULES, target)
    assert check(password, PasswordContext(rules=RULES)).ok
    assert len(password) >= target.min_length
    assert target.max_length is None or len(password) <= target.max_length
    kinds = kinds_in(password)
    assert len(kinds) >= target.min_kinds
    assert set(target.required_kinds) <= kinds
    if target.symbols is not None:
        assert all(c in target.symbols for c in password if c in string.punctuation)


def test_a_target_without_symbols_and_a_short_maximum() -> None:
    target = TargetRules(max_length=12, symbols="")
    for _ in range(50):
        password = generate(RULES, target)
        assert len(password) == 12
        assert not any(c in SYMBOLS for c in password)
        assert check(password, PasswordContext(rules=RULES)).ok


def test_rules_that_cannot_both_be_met_are_an_error() -> None:
    with pytest.raises(ValueError, match="at most 8"):
        generate(
            PasswordRules(min_length=10, generated_length=10), TargetRules(max_length=8)
        )
    with pytest.raises(ValueError, match="kinds"):
        generate(PasswordRules(min_kinds=4), TargetRules(symbols=""))


def test_generated_passwords_differ() -> None:
    assert len({generate(RULES) for _ in range(200)}) == 200
