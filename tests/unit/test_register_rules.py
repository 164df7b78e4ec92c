"""The cloud-service register's state machine and who may decide (5.23, 5.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from iam_service.domain.model import Classification, TargetSystem
from iam_service.domain.register import (
    FILE_REQUESTER,
    Actor,
    ApprovalState,
    CheckResult,
    Criterion,
    CriterionCheck,
    EntrySource,
    Incomplete,
    InvalidTransition,
    NotPermitted,
    RegisterDetails,
    RegisterEntry,
    SegregationOfDuties,
    request_entry,
    waiting_note,
)
from iam_service.domain.security import Role

AT = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SYSADMIN = Actor("token:sysadmin-a", frozenset({Role.SYSADMIN}))
OFFICER = Actor("token:officer-b", frozenset({Role.SECURITY_OFFICER}))
BOTH = Actor("local:c.both", frozenset({Role.SYSADMIN, Role.SECURITY_OFFICER}))
AUDITOR = Actor("token:auditor", frozenset({Role.AUDITOR}))
MET = CriterionCheck(result=CheckResult.MET)
SLACK = TargetSystem(
    key="slack",
    kind="scim",
    name="Slack",
    classification=Classification.INTERNAL,
    purpose="社内チャット",
    owner="情報システム部",
)


def _entry(requester: Actor = SYSADMIN, *, complete: bool = True) -> RegisterEntry:
    entry = request_entry("slack", EntrySource.MANUAL, requester, AT)
    if complete:
        entry.apply_details(
            RegisterDetails(
                information="氏名とメールアドレス",
                criteria=dict.fromkeys(Criterion, MET),
            ),
            requester,
        )
    return entry


def test_a_new_entry_is_requested_never_approved() -> None:
    entry = _entry()
    assert entry.state is ApprovalState.REQUESTED and not entry.usable
    from_file = request_entry(
        "ad", EntrySource.CONNECTORS_FILE, Actor(FILE_REQUESTER), AT
    )
    assert from_file.state is ApprovalState.REQUESTED
    assert from_file.requested_by == FILE_REQUESTER


def test_the_security_officer_approves_with_time_and_comment() -> None:
    entry = _entry()
    entry.approve(SLACK, OFFICER, AT, "  選定基準を確認しました ")
    assert entry.usable
    assert (entry.decided_by, entry.decided_at) == (OFFICER.name, AT)
    assert entry.decision_comment == "選定基準を確認しました"


def test_approved_entries_can_be_suspended_and_approved_again() -> None:
    entry = _entry()
    entry.approve(SLACK, OFFICER, AT, "ok")
    entry.suspend(OFFICER, AT, "vendor incident under review")
    assert entry.state is ApprovalState.SUSPENDED and not entry.usable
    entry.approve(SLACK, OFFICER, AT, "incident closed")
    assert entry.usable


def test_rejected_entries_need_a_resubmission_before_approval() -> None:
    entry = _entry()
    entry.reject(OFFICER, AT, "data stored outside the approved regions")
    with pytest.raises(InvalidTransition):
        entry.approve(SLACK, OFFICER, AT, "ok")
    other = Actor("token:sysadmin-d", frozenset({Role.SYSADMIN}))
    entry.resubmit(other, AT, "Tokyo region contracted")
    assert entry.state is ApprovalState.REQUESTED
    assert entry.requested_by == other.name and entry.decided_by is None
    entry.approve(SLACK, OFFICER, AT, "ok now")
    assert entry.usable


def test_decisions_outside_the_state_machine_are_refused() -> None:
    entry = _entry()
    with pytest.raises(InvalidTransition):
        entry.suspend(OFFICER, AT, "only approved entries are suspended")
    entry.approve(SLACK, OFFICER, AT, "ok")
    before = entry.snapshot()
    with pytest.raises(InvalidTransition):
        entry.approve(SLACK, OFFICER, AT, "already approved")
    with pytest.raises(InvalidTransition):
        entry.reject(OFFICER, AT, "an approved entry is suspended, not rejected")
    with pytest.raises(InvalidTransition):
        entry.resubmit(SYSADMIN, AT, "only rejected entries are resubmitted")
    assert entry.snapshot() == before


def test_nobody_approves_an_entry_they_requested() -> None:
    entry = _entry(BOTH)
    with pytest.raises(SegregationOfDuties, match=r"5\.3"):
        entry.approve(SLACK, BOTH, AT, "looks fine to me")
    with pytest.raises(SegregationOfDuties):
        entry.reject(BOTH, AT, "no")
    assert entry.state is ApprovalState.REQUESTED and entry.decided_by is None


def test_nobody_approves_criteria_they_assessed() -> None:
    entry = _entry(SYSADMIN, complete=False)
    entry.apply_details(
        RegisterDetails(information="x", criteria=dict.fromkeys(Criterion, MET)), BOTH
    )
    with pytest.raises(SegregationOfDuties, match="assessed"):
        entry.approve(SLACK, BOTH, AT, "ok")
    entry.approve(SLACK, OFFICER, AT, "ok")


@pytest.mark.parametrize("actor", [SYSADMIN, AUDITOR])
def test_only_the_security_officer_decides(actor: Actor) -> None:
    entry = _entry(Actor("token:sysadmin-x", frozenset({Role.SYSADMIN})))
    with pytest.raises(NotPermitted):
        entry.approve(SLACK, actor, AT, "ok")
    with pytest.raises(NotPermitted):
        entry.reject(actor, AT, "no")
    assert entry.state is ApprovalState.REQUESTED


def test_only_a_system_administrator_registers_by_hand() -> None:
    with pytest.raises(NotPermitted):
        request_entry("slack", EntrySource.MANUAL, OFFICER, AT)


def test_approval_needs_a_complete_entry_and_every_criterion_met() -> None:
    entry = _entry(complete=False)
    entry.apply_details(
        RegisterDetails(
            criteria={
                Criterion.DATA_LOCATION: CriterionCheck(result=CheckResult.NOT_MET),
                Criterion.SSO_SCIM: CriterionCheck(result=CheckResult.NOT_APPLICABLE),
            }
        ),
        SYSADMIN,
    )
    bare = TargetSystem(key="slack", kind="scim", name="Slack")
    with pytest.raises(Incomplete) as refused:
        entry.approve(bare, OFFICER, AT, "ok")
    assert refused.value.missing == [
        "purpose is empty",
        "owner is empty",
        "the kind of information stored is empty",
        "criterion data_location is not met",
        "criterion encryption_in_transit is unchecked",
        "criterion sso_scim is not applicable without a note",
        "criterion contract_reviewed is unchecked",
    ]
    assert entry.state is ApprovalState.REQUESTED


def test_a_decision_needs_a_comment() -> None:
    entry = _entry()
    with pytest.raises(Incomplete):
        entry.approve(SLACK, OFFICER, AT, "   ")
    assert entry.state is ApprovalState.REQUESTED


def test_criteria_updates_merge_and_the_vendor_url_is_https() -> None:
    entry = _entry(complete=False)
    entry.apply_details(RegisterDetails(criteria={Criterion.SSO_SCIM: MET}), SYSADMIN)
    entry.apply_details(
        RegisterDetails(criteria={Criterion.DATA_LOCATION: MET}), SYSADMIN
    )
    results = {c: check.result for c, check in entry.checks.items()}
    assert results[Criterion.SSO_SCIM] is results[Criterion.DATA_LOCATION]
    assert results[Criterion.CONTRACT_REVIEWED] is CheckResult.UNCHECKED
    with pytest.raises(ValidationError, match=r"8\.24"):
        RegisterDetails(vendor_url="http://vendor.example.test")
    with pytest.raises(ValidationError):
        RegisterDetails.model_validate({"criteria": {"colour": {"result": "met"}}})


def test_the_waiting_note_names_the_system() -> None:
    assert waiting_note("slack", ApprovalState.APPROVED) is None
    assert waiting_note("slack", ApprovalState.REQUESTED) == (
        "waiting for approval of system slack"
    )
    assert waiting_note("slack", ApprovalState.SUSPENDED) == (
        "waiting for approval of system slack (suspended)"
    )
    assert waiting_note("slack", None) == (
        "waiting for approval of system slack (not registered)"
    )
