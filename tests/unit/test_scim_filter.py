"""The SCIM filter and PATCH path parser, on its own (RFC 7644 §3.4.2.2)."""

from __future__ import annotations

import pytest

from iam_service.domain.scim_filter import (
    And,
    AttrPath,
    Compare,
    FilterSyntaxError,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    parse_filter,
    parse_path,
)

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def cmp(attr: str, op: str, value: object, sub: str | None = None) -> Compare:
    return Compare(AttrPath(None, attr, sub), op, value)  # type: ignore[arg-type]


@pytest.mark.parametrize("op", ["eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"])
def test_every_comparison_operator_parses(op: str) -> None:
    assert parse_filter(f'userName {op} "hanako"') == cmp("userName", op, "hanako")


def test_operators_and_keywords_are_case_insensitive() -> None:
    assert parse_filter('userName EQ "a" AND title Pr') == And(
        cmp("userName", "eq", "a"), Present(AttrPath(None, "title"))
    )


def test_and_binds_tighter_than_or_and_parentheses_override() -> None:
    a, b, c = (cmp(n, "eq", "1") for n in ("a", "b", "c"))
    assert parse_filter('a eq "1" or b eq "1" and c eq "1"') == Or(a, And(b, c))
    assert parse_filter('(a eq "1" or b eq "1") and c eq "1"') == And(Or(a, b), c)


def test_not_takes_a_parenthesised_filter() -> None:
    assert parse_filter("not (active eq true)") == Not(cmp("active", "eq", True))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("false", False),
        ("null", None),
        ("42", 42),
        ("-1.5", -1.5),
        (r'"say \"hi\" \u00e9"', 'say "hi" é'),
        ('"営業部"', "営業部"),
    ],
)
def test_literals(text: str, value: object) -> None:
    assert parse_filter(f"title eq {text}") == cmp("title", "eq", value)


def test_sub_attributes_and_schema_qualified_names() -> None:
    assert parse_filter('name.familyName sw "Ya"') == cmp(
        "name", "sw", "Ya", sub="familyName"
    )
    assert parse_filter(f'{ENT}:employeeNumber eq "E1"') == Compare(
        AttrPath(ENT, "employeeNumber"), "eq", "E1"
    )
    assert parse_filter(f'{ENT}:manager.value eq "E2"') == Compare(
        AttrPath(ENT, "manager", "value"), "eq", "E2"
    )


def test_value_paths_hold_a_filter_on_sub_attributes() -> None:
    parsed = parse_filter('emails[type eq "work" and value co "@example.test"]')
    assert parsed == ValuePath(
        AttrPath(None, "emails"),
        And(cmp("type", "eq", "work"), cmp("value", "co", "@example.test")),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "userName",
        'userName eq "a',
        "userName eq hanako",
        'userName equals "a"',
        'userName eq "a" and',
        '(userName eq "a"',
        'userName eq "a")',
        'userName eq "a" title eq "b"',
        'not userName eq "a"',
        'emails[type eq "work"',
        'name.given.first eq "a"',
        'userName eq "a" # comment',
        '"userName" eq "a"',
    ],
)
def test_malformed_filters_are_refused(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(text)


def test_patch_paths() -> None:
    assert parse_path("title") == PatchPath(AttrPath(None, "title"))
    assert parse_path("name.familyName") == PatchPath(
        AttrPath(None, "name", "familyName")
    )
    assert parse_path(f"{ENT}:department") == PatchPath(AttrPath(ENT, "department"))
    assert parse_path('emails[type eq "work"].value') == PatchPath(
        AttrPath(None, "emails"), cmp("type", "eq", "work"), "value"
    )


@pytest.mark.parametrize(
    "text",
    [
        'emails[type eq "work"]value',
        'emails[type eq "work"',
        'name.familyName[value eq "x"]',
        "emails[]",
        "a.b.c",
        "",
    ],
)
def test_malformed_patch_paths_are_refused(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_path(text)
