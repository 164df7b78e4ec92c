"""Binding filters to the User schema and evaluating them on resources.

``bind`` refuses what the service cannot answer (an unknown attribute, ``gt``
on a boolean, a string compared with ``active``) with ``FilterError``, which
the endpoint reports as ``400 invalidFilter`` (RFC 7644 §3.4.2.2).
``matches`` evaluates a bound filter on a rendered resource: strings compare
case-insensitively unless the attribute is ``caseExact``; a multi-valued
attribute matches when any of its values does; a multi-valued complex
attribute without a sub-attribute compares its ``value`` sub-attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iam_service.domain.scim_filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    Literal,
    Not,
    Or,
    Present,
    ValuePath,
)
from iam_service.domain.scim_schema import CORE_USER, Attribute, top_attribute

_ORDERING = frozenset({"gt", "lt", "ge", "le"})
_SUBSTRING = frozenset({"co", "sw", "ew"})


class FilterError(ValueError):
    """A well-formed filter the service cannot evaluate."""


@dataclass(frozen=True)
class Target:
    """A resolved attribute path: the schema, the attribute, a sub-attribute."""

    schema: str
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def leaf(self) -> Attribute:
        if self.sub is not None:
            return self.sub
        if self.attribute.type == "complex" and self.attribute.multi_valued:
            return self.attribute.sub("value") or self.attribute
        return self.attribute


def resolve(path: AttrPath, parent: Target | None = None) -> Target:
    """Find the attribute ``path`` names; inside ``emails[...]`` the names
    are sub-attributes of ``parent``. Raises ``FilterError``."""
    if parent is not None:
        sub = parent.attribute.sub(path.attr)
        if path.schema or path.sub or sub is None:
            raise FilterError(f"{parent.attribute.name} has no sub-attribute {path}")
        return Target(parent.schema, parent.attribute, sub)
    found = top_attribute(path.schema, path.attr)
    if found is None:
        raise FilterError(f"unknown attribute {path}")
    schema, attribute = found
    if path.sub is None:
        return Target(schema, attribute)
    sub = attribute.sub(path.sub)
    if sub is None:
        raise FilterError(f"unknown attribute {path}")
    return Target(schema, attribute, sub)


Scope = str  # "" at the top level, else the multi-valued attribute's path
Key = tuple[Scope, AttrPath]


@dataclass(frozen=True)
class Bound:
    """A filter whose attribute paths were resolved. With ``parent`` set, the
    filter applies to one element of that multi-valued attribute."""

    node: Filter
    targets: Mapping[Key, Target]
    parent: Target | None = None

    @property
    def scope(self) -> Scope:
        return self.parent.attribute.name if self.parent else ""


def bind(node: Filter, parent: Target | None = None) -> Bound:
    """Resolve every attribute path in ``node``; raises ``FilterError``."""
    targets: dict[Key, Target] = {}
    scope = parent.attribute.name if parent else ""
    _bind(node, parent, scope, targets)
    return Bound(node, targets, parent)


def _bind(
    node: Filter, parent: Target | None, scope: Scope, out: dict[Key, Target]
) -> None:
    if isinstance(node, And | Or):
        _bind(node.left, parent, scope, out)
        _bind(node.right, parent, scope, out)
    elif isinstance(node, Not):
        _bind(node.inner, parent, scope, out)
    elif isinstance(node, ValuePath):
        if parent is not None:
            raise FilterError("value filters cannot be nested")
        target = resolve(node.path)
        if target.sub is not None or not target.attribute.multi_valued:
            raise FilterError(f"{node.path} is not a multi-valued attribute")
        out[(scope, node.path)] = target
        _bind(node.inner, target, str(node.path), out)
    else:
        target = resolve(node.path, parent)
        if isinstance(node, Compare):
            _check_compare(node, target.leaf)
        out[(scope, node.path)] = target


def _check_compare(node: Compare, leaf: Attribute) -> None:
    kind, op, value = leaf.type, node.op, node.value
    if kind == "complex":
        raise FilterError(f"{node.path} is complex; compare one of its sub-attributes")
    if value is None:
        if op not in ("eq", "ne"):
            raise FilterError(f"null only compares with eq or ne ({node.path})")
        return
    if kind == "boolean" and (op not in ("eq", "ne") or not isinstance(value, bool)):
        raise FilterError(f"{node.path} is a boolean: use eq/ne true or false")
    if kind in ("string", "reference") and not isinstance(value, str):
        raise FilterError(f"{node.path} is a string: quote the value")
    if kind == "dateTime":
        if not isinstance(value, str) or op in _SUBSTRING:
            raise FilterError(f"{node.path} is a dateTime: eq/ne/gt/ge/lt/le a time")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise FilterError(f"{value!r} is not a dateTime") from None


def matches(bound: Bound, resource: Mapping[str, Any]) -> bool:
    """Whether ``resource`` (a rendered User, or one element of ``parent``)
    satisfies the bound filter."""
    return _eval(bound.node, bound, resource, bound.scope)


def _eval(node: Filter, bound: Bound, item: Mapping[str, Any], scope: Scope) -> bool:
    if isinstance(node, And):
        return _eval(node.left, bound, item, scope) and _eval(
            node.right, bound, item, scope
        )
    if isinstance(node, Or):
        return _eval(node.left, bound, item, scope) or _eval(
            node.right, bound, item, scope
        )
    if isinstance(node, Not):
        return not _eval(node.inner, bound, item, scope)
    target = bound.targets[(scope, node.path)]
    if isinstance(node, ValuePath):
        elements = _container(item, target).get(target.attribute.name) or []
        inner = str(node.path)
        return any(
            _eval(node.inner, bound, e, inner)
            for e in elements
            if isinstance(e, Mapping)
        )
    values = _values(item, target, inside=bool(scope))
    if isinstance(node, Present):
        return any(v not in (None, "", [], {}) for v in values)
    return _compare(node.op, node.value, values, target.leaf)


def _container(item: Mapping[str, Any], target: Target) -> Mapping[str, Any]:
    if target.schema == CORE_USER:
        return item
    found = item.get(target.schema)
    return found if isinstance(found, Mapping) else {}


def _values(item: Mapping[str, Any], target: Target, *, inside: bool) -> list[Any]:
    if inside:  # ``item`` is one element of a multi-valued attribute
        return [item.get(target.leaf.name)]
    raw = _container(item, target).get(target.attribute.name)
    elements = raw if isinstance(raw, list) else [raw]
    if target.attribute.type != "complex":
        return elements
    name = target.leaf.name
    return [e.get(name) for e in elements if isinstance(e, Mapping)]


def _compare(op: str, wanted: Literal, values: list[Any], leaf: Attribute) -> bool:
    present = [v for v in values if v is not None]
    if wanted is None:
        return (not present) if op == "eq" else bool(present)
    if op == "ne":
        return not any(_compare_one("eq", wanted, v, leaf) for v in present)
    return any(_compare_one(op, wanted, v, leaf) for v in present)


def _compare_one(op: str, wanted: Literal, value: Any, leaf: Attribute) -> bool:
    if leaf.type == "boolean":
        return value is wanted
    if leaf.type == "dateTime":
        left: Any = datetime.fromisoformat(str(value))
        right: Any = datetime.fromisoformat(str(wanted))
    else:
        left, right = str(value), str(wanted)
        if not leaf.case_exact:
            left, right = left.casefold(), right.casefold()
    if op == "eq":
        return bool(left == right)
    if op == "co":
        return bool(right in left)
    if op == "sw":
        return bool(left.startswith(right))
    if op == "ew":
        return bool(left.endswith(right))
    return bool(
        {
            "gt": left > right,
            "ge": left >= right,
            "lt": left < right,
            "le": left <= right,
        }[op]
    )
