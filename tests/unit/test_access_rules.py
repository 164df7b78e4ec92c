"""The pure rules of least privilege: policy sections and their line-precise
errors, approval chains, end dates, who may decide, SoD and effective
entitlements (5.3, 5.10, 5.16, 8.2, 8.3)."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from iam_service.adapters.policy_files import PolicyError, load_policy
from iam_service.domain import access
from iam_service.domain.access import (
    AccessRequest,
    Decider,
    Decision,
    ItemKind,
    RequestDecision,
)
from iam_service.domain.entitlements import (
    SodException,
    effective_entitlements,
    held_roles,
    introduced_conflicts,
    sod_conflicts,
)
from iam_service.domain.model import (
    Classification,
    EmploymentType,
    Grant,
    GrantSource,
    GrantStatus,
    Person,
)
from iam_service.domain.policy import Policy
from iam_service.domain.policy_plan import Holding, plan_policy
from iam_service.domain.security import Role
from iam_service.settings import REPO_ROOT

POLICIES = REPO_ROOT / "policies"
NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICIES)


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _line(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if needle in text)


def _problems(directory: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    return [(p.file, p.line, p.message) for p in caught.value.problems]


# -- the policy files ----------------------------------------------------------
def test_no_fin_person_is_born_with_both_payment_entry_and_approval(
    policy: Policy,
) -> None:
    clerk = policy.birthright_for("FIN", "Clerk", EmploymentType.EMPLOYEE)
    manager = policy.birthright_for("FIN", "Manager", EmploymentType.EMPLOYEE)
    assert "ad:GG-Finance" in clerk.entitlements
    assert "ad:GG-Finance-Approvers" not in clerk.entitlements
    assert manager.entitlements == {"ad:GG-All-Staff", "ad:GG-Finance-Approvers"}


def test_a_birthright_that_breaks_sod_is_an_error_on_the_completing_rule(
    tmp_path: Path,
) -> None:
    directory = _copy(tmp_path)
    rules = directory / "birthright.yaml"
    _edit(rules, "{department: FIN, except_titles: [Manager]}", "{department: FIN}")
    line = _line(rules, "{department: FIN, titles: [Manager]}")
    [(file, at, message)] = _problems(directory)
    assert (file, at) == (str(rules), line)
    assert "FIN 'Manager'" in message and "payment-entry-vs-approval" in message
    assert "never breaks SoD" in message


@pytest.mark.parametrize(
    ("old", "new", "expected", "at"),
    [
        (
            "entitlements: [ad:GG-HR, ad:GG-Finance-Approvers]",
            "entitlements: [ad:GG-HR, ad:GG-Nope]",
            "unknown entitlement 'ad:GG-Nope'",
            "ad:GG-Nope",
        ),
        (
            "roles: [sales-manager, finance-approver]",
            "roles: [sales-manager, finance-approvr]",
            "unknown role 'finance-approvr'",
            "finance-approvr",
        ),
        (  # a rule-level error points at the rule
            "entitlements: [ad:GG-Finance, ad:GG-Finance-Approvers]",
            "entitlements: [ad:GG-Finance]",
            "at least two",
            "- id: payment-entry-vs-approval",
        ),
        (
            "  public: [department_head, sysadmin]",
            "  public: [department_head]",
            "must include sysadmin",
            "approval_chains:",
        ),
        (
            "  mover_review_days: 14",
            "  mover_review_dayz: 14",
            "unknown key 'mover_review_dayz'",
            "mover_review_dayz",
        ),
        (
            "    reason: whoever enters",
            "    reasn: whoever enters",
            "unknown key 'reasn'",
            "reasn:",
        ),
    ],
)
def test_errors_in_the_access_file_name_their_line(
    tmp_path: Path, old: str, new: str, expected: str, at: str
) -> None:
    directory = _copy(tmp_path)
    path = directory / "access.yaml"
    _edit(path, old, new)
    line = _line(path, at)
    problems = _problems(directory)
    assert any((f, n) == (str(path), line) and expected in m for f, n, m in problems), (
        line,
        problems,
    )


def test_a_role_member_implying_another_member_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / "access.yaml"
    _edit(
        path,
        "    roles: [sales-manager, finance-approver]",
        "    roles: [finance-approver]\n    entitlements: [ad:GG-Finance-Approvers]",
    )
    [(_, _, message)] = _problems(directory)
    assert "already includes 'ad:GG-Finance-Approvers'" in message


# -- what can be asked for, and who approves -----------------------------------
def test_the_chain_follows_the_classification(policy: Policy) -> None:
    internal = access.resolve_item(policy, ItemKind.ENTITLEMENT, "ad:GG-Engineering")
    secret = access.resolve_item(policy, ItemKind.ENTITLEMENT, "ad:GG-HR")
    assert internal.chain == ("department_head", "sysadmin")
    assert secret.chain == ("department_head", "sysadmin", "security_officer")
    assert secret.classification is Classification.STRICTLY_CONFIDENTIAL


def test_a_privileged_entitlement_always_adds_the_security_officer() -> None:
    policy = Policy.model_validate(
        {
            "entitlements": [
                {"ref": "ad:Backup", "name": "Backup operators", "privileged": True},
                {"ref": "ad:Wiki", "name": "Wiki", "classification": "public"},
            ],
            "roles": [
                {"id": "ops", "name": "Ops", "entitlements": ["ad:Backup", "ad:Wiki"]}
            ],
            "approval_chains": {"public": ["sysadmin"]},
        }
    )
    backup = access.resolve_item(policy, ItemKind.ENTITLEMENT, "ad:Backup")
    wiki = access.resolve_item(policy, ItemKind.ENTITLEMENT, "ad:Wiki")
    ops = access.resolve_item(policy, ItemKind.ROLE, "ops")
    assert backup.chain == ("department_head", "sysadmin", "security_officer")
    assert wiki.chain == ("sysadmin",)
    assert ops.classification is Classification.INTERNAL and ops.privileged
    assert ops.refs == ("ad:Backup", "ad:Wiki")


@pytest.mark.parametrize(
    ("kind", "item", "message"),
    [
        (ItemKind.ENTITLEMENT, "ad:Nope", "unknown entitlement"),
        (ItemKind.ENTITLEMENT, "ad:Domain Admins", "cannot be requested"),
        (ItemKind.ROLE, "staff", "cannot be requested"),
        (ItemKind.ROLE, "nope", "unknown role"),
    ],
)
def test_only_what_the_policy_offers_can_be_asked_for(
    policy: Policy, kind: ItemKind, item: str, message: str
) -> None:
    with pytest.raises(access.RequestInvalid, match=message):
        access.resolve_item(policy, kind, item)


def test_end_dates_are_local_days_in_the_future_within_the_maximum(
    policy: Policy,
) -> None:
    item = access.resolve_item(policy, ItemKind.ENTITLEMENT, "ad:GG-Finance-Approvers")

    def end(day: date | None) -> datetime | None:
        return access.end_of_day(
            day, NOW, TOKYO, max_days=item.max_duration_days, what=item.item
        )

    assert end(date(2026, 11, 25)) == datetime(2026, 11, 25, 15, tzinfo=UTC)
    with pytest.raises(access.RequestInvalid, match="in the past"):
        end(date(2026, 11, 24))
    with pytest.raises(access.RequestInvalid, match="at most 90 days"):
        end(date(2026, 11, 25) + timedelta(days=91))
    with pytest.raises(access.RequestInvalid, match="needs an end date"):
        end(None)


# -- who decides (5.3) --------------------------------------------------------
def _request(**overrides: object) -> AccessRequest:
    values: dict[str, object] = {
        "person_id": 1,
        "employee_id": "E1",
        "department_code": "SALES",
        "kind": ItemKind.ENTITLEMENT,
        "item": "ad:GG-Engineering",
        "entitlement_refs": ["ad:GG-Engineering"],
        "justification": "x",
        "classification": Classification.INTERNAL,
        "privileged": False,
        "chain": ["department_head", "sysadmin"],
        "requested_by": "local:e1",
        "requested_by_employee_id": "E1",
        "created_at": NOW,
        "id": 7,
    }
    values.update(overrides)
    return AccessRequest(**values)  # type: ignore[arg-type]


def _decide(request: AccessRequest, who: Decider, decided: list[str] = ()) -> str:
    decisions = [
        RequestDecision(7, i, "x", Decision.APPROVED, f"token:{e}", NOW, e)
        for i, e in enumerate(decided)
    ]
    return str(access.check_decider(request, who, "H1", decisions))


def test_the_head_step_is_the_heads_and_the_admin_step_a_sysadmins() -> None:
    head = Decider("token:h1", "H1", frozenset({Role.DEPARTMENT_HEAD}))
    other_head = Decider("token:h2", "H2", frozenset({Role.DEPARTMENT_HEAD}))
    admin = Decider("token:a", "A1", frozenset({Role.SYSADMIN}))
    assert _decide(_request(), head) == "department_head"
    with pytest.raises(access.DecisionRefused, match="head of department SALES"):
        _decide(_request(), other_head)
    with pytest.raises(access.DecisionRefused, match="sysadmin role"):
        _decide(_request(step=1), head)
    assert _decide(_request(step=1), admin) == "sysadmin"


@pytest.mark.parametrize(
    ("who", "decided", "message"),
    [
        (Decider("token:a", "E1", frozenset({Role.SYSADMIN})), [], "grants them"),
        (Decider("local:e1", "A9", frozenset({Role.SYSADMIN})), [], "their own"),
        (Decider("token:a", "E2", frozenset({Role.SYSADMIN})), [], "their own"),
        (Decider("token:a", "H1", frozenset({Role.SYSADMIN})), ["H1"], "different"),
        (Decider("token:a", None, frozenset({Role.SYSADMIN})), [], "employee id"),
    ],
)
def test_nobody_decides_for_themselves_or_twice(
    who: Decider, decided: list[str], message: str
) -> None:
    request = _request(step=1, requested_by_employee_id="E2")
    with pytest.raises(access.DecisionRefused, match=message):
        _decide(request, who, decided)


def test_a_head_asking_for_themselves_is_decided_by_their_manager() -> None:
    assert access.head_step_decider("H1", "E1", "M1") == "H1"
    assert access.head_step_decider("H1", "H1", "M1") == "M1"
    assert access.head_step_decider("H1", "H1", None) is None
    assert access.head_step_decider(None, "E1", "M1") is None


# -- holdings and SoD ---------------------------------------------------------
def _grant(ref: str, source: GrantSource = GrantSource.REQUEST, **kw: object) -> Grant:
    return Grant(1, ref, source, NOW - timedelta(days=1), **kw)  # type: ignore[arg-type]


def test_effective_entitlements_are_active_unexpired_grants_of_any_source() -> None:
    grants = [
        _grant("ad:A", GrantSource.BIRTHRIGHT),
        _grant("ad:B", expires_at=NOW + timedelta(hours=1)),
        _grant("ad:C", expires_at=NOW),  # ends now: no longer held
        _grant("ad:D", GrantSource.ELEVATION, status=GrantStatus.REMOVED),
        _grant("ad:E", GrantSource.REVIEW),
    ]
    assert effective_entitlements(grants, NOW) == {"ad:A", "ad:B", "ad:E"}


def _exception(rule: str, **kw: object) -> SodException:
    values: dict[str, object] = {
        "person_id": 1,
        "employee_id": "E1",
        "rule_id": rule,
        "reason": "cover",
        "expires_at": NOW + timedelta(days=1),
        "granted_by": "token:so",
        "granted_at": NOW,
    }
    values.update(kw)
    return SodException(**values)  # type: ignore[arg-type]


def test_sod_conflicts_name_the_rule_and_respect_only_live_exceptions(
    policy: Policy,
) -> None:
    refs = {"ad:GG-Finance", "ad:GG-Finance-Approvers", "ad:GG-All-Staff"}
    roles = held_roles(refs, policy)
    assert roles == {"staff", "finance", "finance-approver"}
    [conflict] = sod_conflicts(refs, roles, policy.sod_rules)
    assert conflict.rule_id == "payment-entry-vs-approval"
    assert conflict.members == ("ad:GG-Finance", "ad:GG-Finance-Approvers")
    assert "must not approve" in conflict.describe()
    live = [_exception("payment-entry-vs-approval")]
    assert not sod_conflicts(refs, roles, policy.sod_rules, live, NOW)
    for dead in (
        _exception("payment-entry-vs-approval", expires_at=NOW),
        _exception("payment-entry-vs-approval", revoked_at=NOW),
        _exception("payroll-vs-payment-approval"),
    ):
        assert sod_conflicts(refs, roles, policy.sod_rules, [dead], NOW)


def test_a_role_rule_sees_roles_however_they_were_granted(policy: Policy) -> None:
    refs = {"ad:GG-Sales-Managers", "ad:GG-Finance-Approvers"}
    [conflict] = sod_conflicts(refs, held_roles(refs, policy), policy.sod_rules)
    assert conflict.rule_id == "discounts-vs-payments"
    assert conflict.members == ("role:sales-manager", "role:finance-approver")


def test_only_conflicts_a_change_brings_are_introduced(policy: Policy) -> None:
    held = {"ad:GG-Finance", "ad:GG-Finance-Approvers"}  # an old, lapsed exception
    assert not introduced_conflicts(held, held | {"ad:GG-Sales"}, policy)
    [new] = introduced_conflicts(held, held | {"ad:GG-HR"}, policy)
    assert new.rule_id == "payroll-vs-payment-approval"


def test_a_plan_counts_who_gains_and_loses(policy: Policy) -> None:
    clerk = Person("E1", "A", "B", "a@example.test", "FIN", "Clerk", id=1)
    manager = Person("E2", "C", "D", "c@example.test", "FIN", "Manager", id=2)
    holdings = [
        Holding.of(clerk, [_grant("ad:GG-All-Staff", GrantSource.BIRTHRIGHT)]),
        Holding.of(
            manager,
            [
                _grant(r, GrantSource.BIRTHRIGHT)
                for r in ("ad:GG-All-Staff", "ad:GG-Finance", "ad:GG-Finance-Approvers")
            ],
        ),
    ]
    plan = plan_policy(holdings, policy, NOW)
    assert plan.population == 2
    by_person = {c.employee_id: (c.granted, c.removed) for c in plan.changes}
    assert by_person == {
        "E1": (("ad:GG-Finance",), ()),
        "E2": ((), ("ad:GG-Finance",)),
    }
    assert plan.removal_share == 0.5
    assert plan.resync == ("E1", "E2")
