"""PATCH (RFC 7644 §3.5.2) applied to a User document.

``apply_patch`` takes the canonical document (``document_of``) and a PatchOp
body and returns the patched document; ``state_from_document`` validates the
result as a whole afterwards, so a request is applied entirely or not at all.

Choices where the RFC leaves room or clients differ:

* ``op`` is read case-insensitively (Entra ID sends ``Replace``);
* without a ``path``, the value's keys may be attribute paths, fully
  qualified ones included (``urn:...:enterprise:2.0:User:department``);
* ``add`` or ``replace`` through a value filter that matches nothing creates
  the element when the filter is made of ``eq`` comparisons
  (``emails[type eq "work"].value``, as Entra ID sends it); any other filter
  that matches nothing is ``noTarget``;
* a schema URN as the path stands for that schema's attributes
  (``{"path": "urn:...:enterprise:2.0:User", "value": {"department": ...}}``);
* read-only attributes named in a path are ``mutability`` errors; inside a
  path-less value they are ignored, as in a PUT.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from iam_service.domain.scim_filter import (
    And,
    AttrPath,
    Compare,
    Filter,
    FilterSyntaxError,
    PatchPath,
    parse_attr_path,
    parse_path,
)
from iam_service.domain.scim_input import (
    ScimInputError,
    invalid,
    leaf,
    normalize,
    state_from_document,
)
from iam_service.domain.scim_match import FilterError, Target, bind, matches, resolve
from iam_service.domain.scim_schema import CORE_USER, PATCH_OP, Attribute, schema_for
from iam_service.domain.scim_user import UserState, document_of

_OPS = ("add", "remove", "replace")


def operations(body: Any) -> list[tuple[str, str | None, Any]]:
    """The (op, path, value) triples of a PatchOp body, checked for shape."""
    if not isinstance(body, Mapping):
        raise ScimInputError("invalidSyntax", "the body must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or PATCH_OP not in schemas:
        raise ScimInputError("invalidSyntax", f"schemas must be [{PATCH_OP!r}]")
    ops = body.get("Operations", body.get("operations"))
    if not isinstance(ops, list) or not ops:
        raise ScimInputError("invalidSyntax", "Operations must be a non-empty list")
    out: list[tuple[str, str | None, Any]] = []
    for number, item in enumerate(ops, start=1):
        if not isinstance(item, Mapping):
            raise ScimInputError("invalidSyntax", f"operation {number} is no object")
        op = str(item.get("op", "")).lower()
        path = item.get("path")
        if op not in _OPS:
            raise ScimInputError(
                "invalidSyntax", f"operation {number}: op must be add/remove/replace"
            )
        if path is not None and not isinstance(path, str):
            raise ScimInputError("invalidPath", f"operation {number}: path is text")
        if op != "remove" and "value" not in item:
            raise invalid(f"operation {number}: {op} needs a value")
        out.append((op, path, item.get("value")))
    return out


def apply_patch(document: Mapping[str, Any], body: Any) -> dict[str, Any]:
    """The document after every operation of ``body``; raises ``ScimInputError``."""
    doc = copy.deepcopy(dict(document))
    for op, path, value in operations(body):
        whole = schema_for(path) if path is not None else None
        if whole is not None and op == "remove":
            doc.pop(whole.id, None)
        elif whole is not None:
            # A schema URN as the path: the value holds that schema's attributes.
            _apply_pathless(doc, op, {whole.id: value})
        elif path is None:
            _apply_pathless(doc, op, value)
        else:
            _apply(doc, op, _target(path), value)
    return doc


def patched_state(base: UserState, body: Any) -> UserState:
    """The state a PATCH asks for, validated as a whole."""
    doc = apply_patch(document_of(base), body)
    if "active" not in doc:
        raise ScimInputError(
            "mutability", "active cannot be removed: a person is active or a leaver"
        )
    return state_from_document(doc, base.email)


def _target(text: str) -> tuple[Target, PatchPath]:
    try:
        parsed = parse_path(text)
        target = resolve(parsed.path)
        if parsed.sub is not None:
            if target.sub is not None:
                raise FilterError(f"{text} names a sub-attribute twice")
            sub = target.attribute.sub(parsed.sub)
            if sub is None:
                raise FilterError(f"unknown attribute {text}")
            target = Target(target.schema, target.attribute, sub)
    except (FilterSyntaxError, FilterError) as error:
        raise ScimInputError("invalidPath", f"path {text!r}: {error}") from None
    if target.attribute.read_only or (target.sub and target.sub.read_only):
        raise ScimInputError("mutability", f"{text} is read-only")
    return target, parsed


def _apply_pathless(doc: dict[str, Any], op: str, value: Any) -> None:
    if op == "remove":
        raise ScimInputError("noTarget", "remove needs a path")
    if not isinstance(value, Mapping):
        raise invalid(f"{op} without a path needs an object of attributes")
    for key, item in value.items():
        if key == "schemas":
            continue
        schema = schema_for(str(key))
        if schema is not None:
            if not isinstance(item, Mapping):
                raise invalid(f"{key} must be an object")
            for sub_key, sub_item in item.items():
                if sub_key != "schemas":
                    _apply_key(doc, op, f"{schema.id}:{sub_key}", sub_item)
            continue
        _apply_key(doc, op, str(key), item)


def _apply_key(doc: dict[str, Any], op: str, key: str, value: Any) -> None:
    try:
        target = resolve(parse_attr_path(key))
    except (FilterSyntaxError, FilterError):
        raise ScimInputError("invalidSyntax", f"unknown attribute {key!r}") from None
    if not (target.attribute.read_only or (target.sub and target.sub.read_only)):
        _apply(doc, op, (target, PatchPath(AttrPath(None, key))), value)


def _apply(
    doc: dict[str, Any], op: str, found: tuple[Target, PatchPath], value: Any
) -> None:
    target, parsed = found
    container = doc if target.schema == CORE_USER else doc.setdefault(target.schema, {})
    name = target.attribute.name
    if parsed.value_filter is not None:
        _apply_filtered(container, op, target, parsed.value_filter, value)
    elif op == "remove":
        _remove(container, target)
    elif target.sub is not None:
        _set_sub(container, target.attribute, target.sub, value)
    elif target.attribute.multi_valued:
        items = normalize(target.attribute, value, name) or []
        have = (container.get(name) or []) if op == "add" else []
        container[name] = have + [i for i in items if i not in have]
    elif target.attribute.type == "complex":
        update = normalize(target.attribute, value, name)
        if not isinstance(update, dict):
            raise invalid(f"{name} must be an object")
        container[name] = {**(container.get(name) or {}), **update}
    else:
        container[name] = normalize(target.attribute, value, name)


def _set_sub(
    container: dict[str, Any], attribute: Attribute, sub: Attribute, value: Any
) -> None:
    name = attribute.name
    checked = leaf(sub, value, f"{name}.{sub.name}")
    if not attribute.multi_valued:
        container[name] = {**(container.get(name) or {}), sub.name: checked}
        return
    elements = container.get(name) or []
    if not elements:
        container[name] = [{sub.name: checked}]
    for element in elements:
        element[sub.name] = checked


def _remove(container: dict[str, Any], target: Target) -> None:
    name, sub = target.attribute.name, target.sub
    if sub is None:
        container.pop(name, None)
        return
    value = container.get(name)
    for element in value if isinstance(value, list) else [value]:
        if isinstance(element, dict):
            element.pop(sub.name, None)
    if isinstance(value, dict) and not value:
        container.pop(name)


def _apply_filtered(
    container: dict[str, Any], op: str, target: Target, where: Filter, value: Any
) -> None:
    parent = Target(target.schema, target.attribute)
    try:
        bound = bind(where, parent)
    except FilterError as error:
        raise ScimInputError("invalidPath", str(error)) from None
    name = target.attribute.name
    elements: list[dict[str, Any]] = list(container.get(name) or [])
    hits = [e for e in elements if isinstance(e, dict) and matches(bound, e)]
    if op == "remove":
        if not hits:
            raise ScimInputError("noTarget", f"no {name} value matches the filter")
        sub = target.sub
        if sub is None:
            container[name] = [e for e in elements if all(e is not h for h in hits)]
        else:
            for hit in hits:
                hit.pop(sub.name, None)
        return
    if not hits:
        seed = _eq_seed(where, target.attribute)
        if seed is None:
            raise ScimInputError("noTarget", f"no {name} value matches the filter")
        hits = [seed]
        elements.append(seed)
    for hit in hits:
        if target.sub is not None:
            hit[target.sub.name] = leaf(target.sub, value, f"{name}.{target.sub.name}")
        else:
            update = normalize(target.attribute, value, name) or []
            if len(update) != 1:
                raise invalid(f"{name}[...] takes one object as its value")
            hit.update(update[0])
    container[name] = elements


def _eq_seed(where: Filter, attribute: Attribute) -> dict[str, Any] | None:
    """The element an ``eq``-only filter describes, or None."""
    if isinstance(where, Compare) and where.op == "eq":
        sub = attribute.sub(where.path.attr)
        return {sub.name: where.value} if sub else None
    if isinstance(where, And):
        left = _eq_seed(where.left, attribute)
        right = _eq_seed(where.right, attribute)
        return {**left, **right} if left is not None and right is not None else None
    return None
