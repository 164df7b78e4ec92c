"""The policy files: birthright evaluation and line-precise errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from iam_service.adapters.policy_files import PolicyError, load_policy
from iam_service.domain.model import EmploymentType
from iam_service.domain.policy import Policy
from iam_service.settings import REPO_ROOT

POLICIES = REPO_ROOT / "policies"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


def test_a_sales_manager_gets_staff_sales_and_manager_groups(policy: Policy) -> None:
    b = policy.birthright_for("SALES", "Manager", EmploymentType.EMPLOYEE)
    assert b.entitlements == {"ad:GG-All-Staff", "ad:GG-Sales", "ad:GG-Sales-Managers"}
    assert b.systems == {"ad"}


def test_a_sales_staff_member_does_not_get_manager_rights(policy: Policy) -> None:
    b = policy.birthright_for("SALES", "Staff", EmploymentType.EMPLOYEE)
    assert b.entitlements == {"ad:GG-All-Staff", "ad:GG-Sales"}


def test_a_contractor_gets_the_contractor_baseline_not_staff(policy: Policy) -> None:
    b = policy.birthright_for("ENG", "Engineer", EmploymentType.CONTRACTOR)
    assert b.entitlements == {"ad:GG-Contractors", "ad:GG-Engineering"}


def test_an_unknown_department_gets_nothing_at_all(policy: Policy) -> None:
    b = policy.birthright_for("MARKETING", "Manager", EmploymentType.EMPLOYEE)
    assert not b.entitlements and not b.systems and not b.roles


def test_every_entitlement_has_a_human_name(policy: Policy) -> None:
    assert all(e.name and e.name != e.key for e in policy.entitlements)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_a_typo_in_a_key_is_reported_on_its_line(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    rules = directory / "birthright.yaml"
    rules.write_text(
        rules.read_text().replace("    roles: [finance]", "    rolez: [finance]")
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    problems = {(p.file, p.line, p.message) for p in caught.value.problems}
    assert (
        str(rules),
        _line_of(rules, "rolez"),
        "unknown key 'rolez' (a typo?)",
    ) in problems


def test_an_unknown_role_reference_is_reported_on_its_line(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    rules = directory / "birthright.yaml"
    rules.write_text(rules.read_text().replace("roles: [it]", "roles: [itx]"))
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    [problem] = caught.value.problems
    assert problem.line == _line_of(rules, "[itx]")
    assert "unknown role 'itx'" in problem.message


def test_a_section_defined_twice_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "extra.yaml").write_text("roles: []\n")
    with pytest.raises(PolicyError, match="section 'roles' is already defined"):
        load_policy(directory)


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "leavers.yaml").write_text("leaver_steps:\n  default: [a, b\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    assert caught.value.problems[0].line >= 2
    assert "not valid YAML" in caught.value.problems[0].message
