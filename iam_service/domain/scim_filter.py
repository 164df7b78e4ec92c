"""SCIM filters and PATCH paths: a small recursive-descent parser (RFC 7644
§3.4.2.2, Figure 1; §3.5.2, Figure 7).

``parse_filter`` turns ``userName eq "a" and (emails co "@example.test" or
not (active eq true))`` into a tree of frozen dataclasses; ``parse_path``
reads PATCH paths such as ``emails[type eq "work"].value``. The parser checks
syntax only; ``iam_service.domain.scim_match`` binds the names to the schema
and evaluates. Precedence, strongest first: ``not`` and parentheses, ``and``,
``or``. Operators and attribute names match case-insensitively.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})
Literal = str | bool | int | float | None


class FilterSyntaxError(ValueError):
    """The text is not a valid filter or path; the message says where."""


@dataclass(frozen=True)
class AttrPath:
    """``[urn:...:]attr[.sub]``; ``schema`` is None when no URN was written."""

    schema: str | None
    attr: str
    sub: str | None = None

    def __str__(self) -> str:
        prefix = f"{self.schema}:" if self.schema else ""
        return prefix + self.attr + (f".{self.sub}" if self.sub else "")


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Literal


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class ValuePath:
    """``emails[type eq "work"]``: the inner filter names sub-attributes."""

    path: AttrPath
    inner: Filter


Filter = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True)
class PatchPath:
    """A PATCH target: an attribute, optionally narrowed by a value filter
    and followed by a sub-attribute (``emails[type eq "work"].value``)."""

    path: AttrPath
    value_filter: Filter | None = None
    sub: str | None = None


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w:.])
    | (?P<word>[A-Za-z$][\w$:.\-]*)
    | (?P<punct>[()\[\]])
    )""",
    re.VERBOSE,
)
_NAME = re.compile(r"^(?:\$ref|[A-Za-z][\w-]*)$")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterSyntaxError(f"unexpected {text[pos : pos + 12]!r} at {pos}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_attr_path(text: str) -> AttrPath:
    """``userName``, ``name.familyName``, ``urn:...:User:manager.value``."""
    schema: str | None = None
    rest = text
    if text.lower().startswith("urn:"):
        schema, _, rest = text.rpartition(":")
        if not schema or not rest:
            raise FilterSyntaxError(f"{text!r} is not an attribute path")
    parts = rest.split(".")
    if len(parts) > 2 or not all(_NAME.match(p) for p in parts):
        raise FilterSyntaxError(f"{text!r} is not an attribute path")
    return AttrPath(schema, parts[0], parts[1] if len(parts) == 2 else None)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterSyntaxError("the filter ends too early")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        kind, value = self.take()
        if kind != "punct" or value != punct:
            raise FilterSyntaxError(f"expected {punct!r}, found {value!r}")

    def parse(self) -> Filter:
        result = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise FilterSyntaxError(f"unexpected {extra[1]!r}")
        return result

    def or_expr(self) -> Filter:
        left = self.and_expr()
        while self.keyword("or"):
            left = Or(left, self.and_expr())
        return left

    def and_expr(self) -> Filter:
        left = self.unary()
        while self.keyword("and"):
            left = And(left, self.unary())
        return left

    def unary(self) -> Filter:
        token = self.peek()
        if token == ("punct", "("):
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        if token and token[0] == "word" and token[1].lower() == "not":
            self.take()
            self.expect("(")
            inner = self.or_expr()
            self.expect(")")
            return Not(inner)
        return self.attr_expr()

    def attr_expr(self) -> Filter:
        kind, text = self.take()
        if kind != "word":
            raise FilterSyntaxError(f"expected an attribute name, found {text!r}")
        path = parse_attr_path(text)
        if self.peek() == ("punct", "["):
            self.take()
            inner = self.or_expr()
            self.expect("]")
            return ValuePath(path, inner)
        kind, op = self.take()
        op = op.lower()
        if kind == "word" and op == "pr":
            return Present(path)
        if kind != "word" or op not in COMPARE_OPS:
            raise FilterSyntaxError(f"{op!r} is not a comparison operator")
        return Compare(path, op, self.literal())

    def literal(self) -> Literal:
        kind, text = self.take()
        if kind == "string":
            try:
                value: str = json.loads(text)
            except ValueError:
                raise FilterSyntaxError(f"bad string {text}") from None
            return value
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        words: dict[str, Literal] = {"true": True, "false": False, "null": None}
        if kind == "word" and text.lower() in words:
            return words[text.lower()]
        raise FilterSyntaxError(f"{text!r} is not a value (quote strings)")


def parse_filter(text: str) -> Filter:
    """Parse a ``filter`` query parameter; raises ``FilterSyntaxError``."""
    if not text or not text.strip():
        raise FilterSyntaxError("the filter is empty")
    return _Parser(text).parse()


def parse_path(text: str) -> PatchPath:
    """Parse a PATCH ``path``; raises ``FilterSyntaxError``."""
    text = text.strip()
    if "[" not in text:
        return PatchPath(parse_attr_path(text))
    head, _, rest = text.partition("[")
    close = rest.rfind("]")
    if close < 0:
        raise FilterSyntaxError("a '[' is not closed")
    inner, tail = rest[:close], rest[close + 1 :]
    sub: str | None = None
    if tail:
        if not tail.startswith(".") or not _NAME.match(tail[1:]):
            raise FilterSyntaxError(f"unexpected {tail!r} after ']'")
        sub = tail[1:]
    path = parse_attr_path(head.strip())
    if path.sub is not None:
        raise FilterSyntaxError("a value filter applies to a multi-valued attribute")
    return PatchPath(path, parse_filter(inner), sub)
