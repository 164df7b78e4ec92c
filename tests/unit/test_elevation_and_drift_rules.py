"""The pure rules of privileged elevation (8.2, 8.18, 5.3) and of drift
reconciliation, and their policy sections with line-precise errors."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from iam_service.adapters.policy_files import PolicyError, load_policy
from iam_service.domain.elevation import (
    Elevation,
    ElevationKind,
    ElevationPolicy,
    ElevationRuleError,
    Ratification,
    check_decider,
    duration_minutes,
)
from iam_service.domain.reconciliation import (
    Expected,
    FindingKind,
    Observed,
    ReconciliationPolicy,
    compare,
)
from iam_service.settings import REPO_ROOT

T0 = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
POLICY = ElevationPolicy()  # 8 h, break-glass 2 h, grace 60 min, every 240 min


def _elevation(**kw: object) -> Elevation:
    values: dict[str, object] = {
        "person_id": 1,
        "employee_id": "E300",
        "entitlement_ref": "ad:Domain Admins",
        "kind": ElevationKind.BREAK_GLASS,
        "reason": "outage",
        "duration_minutes": 60,
        "requested_by": "token:alice",
        "requested_at": T0,
        "requested_by_employee_id": "E300",
        "ratification": Ratification.PENDING,
    }
    values.update(kw)
    return Elevation(**values)  # type: ignore[arg-type]


def test_a_duration_is_kept_within_the_limit_of_its_kind() -> None:
    assert duration_minutes(1.5, ElevationKind.REQUEST, POLICY) == 90
    assert duration_minutes(8, ElevationKind.REQUEST, POLICY) == 480
    with pytest.raises(ElevationRuleError, match="at most 8 hours") as error:
        duration_minutes(8.5, ElevationKind.REQUEST, POLICY)
    assert error.value.field == "hours"
    assert duration_minutes(2, ElevationKind.BREAK_GLASS, POLICY) == 120
    with pytest.raises(ElevationRuleError, match="break-glass use lasts at most 2"):
        duration_minutes(3, ElevationKind.BREAK_GLASS, POLICY)
    with pytest.raises(ElevationRuleError, match="at least a minute"):
        duration_minutes(0.001, ElevationKind.REQUEST, POLICY)


def test_nobody_decides_what_they_asked_for_or_benefit_from() -> None:
    e = _elevation(requested_by="token:bob", requested_by_employee_id="E301")
    for actor, employee in (("token:bob", None), ("token:x", "E300"), ("t:y", "E301")):
        with pytest.raises(ElevationRuleError) as error:
            check_decider(e, actor, employee, "approves")
        assert error.value.kind == "segregation"
    check_decider(e, "token:officer", "E400", "approves")
    check_decider(e, "token:machine", None, "approves")


def test_an_unratified_use_escalates_after_the_grace_then_every_interval() -> None:
    e = _elevation()
    assert not e.escalation_due(T0 + timedelta(minutes=59), POLICY)
    assert e.escalation_due(T0 + timedelta(minutes=60), POLICY)
    e.last_escalated_at = T0 + timedelta(minutes=60)
    assert not e.escalation_due(T0 + timedelta(minutes=299), POLICY)
    assert e.escalation_due(T0 + timedelta(minutes=300), POLICY)
    e.ratification = Ratification.RATIFIED
    assert not e.escalation_due(T0 + timedelta(days=9), POLICY)
    assert not _elevation(ratification=None).escalation_due(
        T0 + timedelta(days=1), POLICY
    )


def test_a_break_glass_limit_above_the_elevation_limit_is_refused() -> None:
    with pytest.raises(ValidationError, match="cannot exceed max_hours"):
        ElevationPolicy(max_hours=1, break_glass_max_hours=2)


def _observed(groups: set[str], **kw: object) -> Observed:
    values: dict[str, object] = {
        "native_id": "g-1",
        "username": "tsato",
        "employee_id": "E101",
        "enabled": True,
        "groups": frozenset(g.casefold() for g in groups),
    }
    values.update(kw)
    return Observed(**values)  # type: ignore[arg-type]


MANAGED = {"gg-sales": "ad:GG-Sales", "domain admins": "ad:Domain Admins"}


def _expected(groups: set[str], terminated: bool = False) -> Expected:
    return Expected(1, 1, "E101", terminated, frozenset(g.casefold() for g in groups))


def test_drift_is_judged_only_on_catalogue_entitlements_case_insensitively() -> None:
    found = compare(
        _observed({"GG-SALES", "Domain Admins", "Printers-3F"}),
        _expected({"gg-sales"}),
        MANAGED,
        known_person=True,
    )
    assert [(f.kind, f.key) for f in found] == [
        (FindingKind.UNEXPECTED, "domain admins")
    ]
    missing = compare(_observed(set()), _expected({"GG-Sales"}), MANAGED, True)
    assert [(f.kind, f.key) for f in missing] == [(FindingKind.MISSING, "gg-sales")]


def test_accounts_we_do_not_know_are_orphans_or_unlinked() -> None:
    assert [f.kind for f in compare(_observed(set()), None, MANAGED, False)] == [
        FindingKind.ORPHAN
    ]
    assert [f.kind for f in compare(_observed(set()), None, MANAGED, True)] == [
        FindingKind.UNLINKED
    ]


def test_an_enabled_leaver_is_reported_and_a_disabled_one_is_not() -> None:
    leaver = _expected(set(), terminated=True)
    assert [f.kind for f in compare(_observed(set()), leaver, MANAGED, True)] == [
        FindingKind.TERMINATED_ENABLED
    ]
    assert compare(_observed(set(), enabled=False), leaver, MANAGED, True) == []


def test_the_most_specific_drift_setting_wins() -> None:
    rules = ReconciliationPolicy.model_validate(
        {
            "remove_unexpected": False,
            "systems": {"ad": {"remove_unexpected": True}},
            "entitlements": {
                "ad:GG-Sales": {
                    "remove_unexpected": False,
                    "reprovision_missing": False,
                }
            },
        }
    )
    assert rules.removes("ad:Domain Admins")  # the system's setting
    assert not rules.removes("ad:GG-Sales")  # the entitlement's
    assert not rules.removes("entra:Global Administrator")  # the default
    assert rules.reprovisions("ad:Domain Admins")
    assert not rules.reprovisions("ad:GG-Sales")


def test_the_shipped_policy_removes_unapproved_domain_admins_only() -> None:
    policy = load_policy(REPO_ROOT / "policies")
    assert policy.reconciliation.removes("ad:Domain Admins")
    assert not policy.reconciliation.removes("ad:GG-Finance")
    assert policy.elevation.max_hours == 8


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "elevation.yaml",
            "  max_hours: 8",
            "  max_hour: 8",
            "unknown key 'max_hour'",
        ),
        (
            "reconciliation.yaml",
            "  remove_unexpected: false",
            "  remove_unexpectd: false",
            "unknown key 'remove_unexpectd'",
        ),
        (
            "reconciliation.yaml",
            '    "ad:Domain Admins":',
            '    "ad:Domain Admin":',
            "unknown entitlement 'ad:Domain Admin'",
        ),
    ],
)
def test_a_typo_in_the_sections_is_reported_on_its_line(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    directory = tmp_path / "policies"
    shutil.copytree(REPO_ROOT / "policies", directory)
    path = directory / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(n for n, s in enumerate(path.read_text().splitlines(), 1) if new in s)
    with pytest.raises(PolicyError) as error:
        load_policy(directory)
    [problem] = error.value.problems
    assert (Path(problem.file).name, problem.line) == (file, line)
    assert message in problem.message
