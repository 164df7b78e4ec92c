"""Reading the policy directory, with errors that point at file and line.

Every ``*.yaml`` file in the directory contributes top-level sections
(``entitlements``, ``roles``, ``departments``, ``birthright``,
``leaver_steps``, ``sod_rules``, ``approval_chains``, ``settings``); a
section may appear in one file only. The same files stored as a policy
version (8.32) load from their text with ``load_policy_texts``. The merged
document is validated into ``iam_service.domain.policy.Policy`` with unknown
keys refused, so that ``birthrite:`` is an error on its line and never a
silently empty rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from iam_service.domain.policy import Policy


@dataclass(frozen=True)
class PolicyProblem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PolicyError(ValueError):
    """The policy directory is invalid; ``problems`` says where and why."""

    def __init__(self, problems: list[PolicyProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class _Section:
    file: Path
    key_node: yaml.Node
    value_node: yaml.Node


def read_policy_files(directory: Path) -> dict[str, str]:
    """The policy files of ``directory`` by name, as text (a version's content)."""
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    if not files:
        raise PolicyError(
            [PolicyProblem(str(directory), 0, "no policy files (*.yaml) found")]
        )
    return {path.name: path.read_text(encoding="utf-8") for path in files}


def load_policy(directory: Path) -> Policy:
    """Parse and validate every policy file in ``directory``."""
    return load_policy_texts(read_policy_files(directory), directory)


def load_policy_texts(files: Mapping[str, str], base: Path | None = None) -> Policy:
    """Parse and validate policy files given as ``{name: text}`` (a stored
    version, an upload); problems name ``base / name`` and the line."""
    if not files:
        raise PolicyError([PolicyProblem(str(base or "."), 0, "no policy files")])
    sections: dict[str, _Section] = {}
    problems: list[PolicyProblem] = []
    for name in sorted(files):
        if "/" in name or "\\" in name or not name.endswith((".yaml", ".yml")):
            problems.append(PolicyProblem(name, 0, "a policy file is NAME.yaml"))
            continue
        path = base / name if base else Path(name)
        problems += _read_sections(path, files[name], sections)
    if problems:
        raise PolicyError(problems)
    data = {name: _construct(s.value_node) for name, s in sections.items()}
    try:
        policy = Policy.model_validate(data, context={"defer_references": True})
    except ValidationError as error:
        raise PolicyError(_locate_validation(error, sections)) from None
    located = [
        _problem(sections, path, msg) for path, msg in policy.reference_problems()
    ]
    if located:
        raise PolicyError(located)
    return policy


def _read_sections(
    path: Path, text: str, sections: dict[str, _Section]
) -> list[PolicyProblem]:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line = mark.line + 1 if mark else 0
        return [PolicyProblem(str(path), line, f"not valid YAML: {error.problem}")]
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        return [
            PolicyProblem(
                str(path),
                root.start_mark.line + 1,
                "a policy file is a mapping of sections",
            )
        ]
    problems = []
    for key_node, value_node in root.value:
        name = str(key_node.value)
        if name in sections:
            first = sections[name]
            problems.append(
                PolicyProblem(
                    str(path),
                    key_node.start_mark.line + 1,
                    f"section {name!r} is already defined in {first.file.name}:"
                    f"{first.key_node.start_mark.line + 1}",
                )
            )
            continue
        sections[name] = _Section(path, key_node, value_node)
    return problems


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _locate_validation(
    error: ValidationError, sections: dict[str, _Section]
) -> list[PolicyProblem]:
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r} (a typo?)"
        elif loc:
            message = f"{'.'.join(str(p) for p in loc)}: {message}"
        problems.append(_problem(sections, loc, message))
    return problems


def _problem(
    sections: dict[str, _Section], loc: tuple[Any, ...], message: str
) -> PolicyProblem:
    if not loc or loc[0] not in sections:
        any_section = next(iter(sections.values()), None)
        file = str(any_section.file) if any_section else "?"
        line = any_section.key_node.start_mark.line + 1 if loc and any_section else 1
        if loc and loc[0] not in sections:
            message = f"unknown section {loc[0]!r}" if len(loc) == 1 else message
            line = _line_of_unknown_section(sections, str(loc[0])) or line
        return PolicyProblem(file, line, message)
    section = sections[loc[0]]
    node = section.value_node
    key_node: yaml.Node = section.key_node
    for part in loc[1:]:
        found = _child(node, part)
        if found is None:
            break
        key_node, node = found
    line_node = key_node if isinstance(loc[-1], str) else node
    return PolicyProblem(str(section.file), line_node.start_mark.line + 1, message)


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return key, value
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and part < len(node.value)
    ):
        return node.value[part], node.value[part]
    return None


def _line_of_unknown_section(sections: dict[str, _Section], name: str) -> int | None:
    section = sections.get(name)
    return section.key_node.start_mark.line + 1 if section else None
