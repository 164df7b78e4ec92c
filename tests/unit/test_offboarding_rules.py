"""The pure rules of the asset register and the offboarding case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from iam_service.domain.assets import (
    Asset,
    AssetCondition,
    AssetCreate,
    AssetRuleError,
    AssetState,
    AssetType,
    SpareCardCheck,
)
from iam_service.domain.model import AccountStatus
from iam_service.domain.offboarding import (
    ApprovalRefused,
    CaseItem,
    CaseRuleError,
    Decider,
    EscalationLevel,
    ItemKind,
    ItemStatus,
    OffboardingCase,
    OffboardingPolicy,
    Resolution,
    WriteOffKind,
)
from iam_service.domain.offboarding_progress import (
    AccountProgress,
    levels_due,
    outstanding_for_close,
)
from iam_service.domain.security import Role

NOW = datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
OFFICER = Decider("token:officer", "E9", frozenset({Role.SECURITY_OFFICER}))


def _item(kind: ItemKind = ItemKind.ASSET_RETURN, **kw: object) -> CaseItem:
    return CaseItem(1, kind, "laptop LT-1", id=7, **kw)  # type: ignore[arg-type]


def _account(status: AccountStatus, **kw: object) -> AccountProgress:
    return AccountProgress("ad", "taro", status, NOW, **kw)  # type: ignore[arg-type]


def test_asset_states_move_only_along_the_register_rules() -> None:
    asset = Asset(AssetType.LAPTOP, "LT-1", state=AssetState.IN_USE, holder_id=3)
    asset.move_to(AssetState.RETURNED)
    assert asset.holder_id is None
    asset.move_to(AssetState.DISPOSED)
    with pytest.raises(AssetRuleError, match="disposed"):
        asset.move_to(AssetState.SPARE)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"asset_type": "security_card", "tag": "C-1"}, "card number"),
        ({"asset_type": "laptop", "tag": "L-1", "card_number": "1"}, "only a security"),
        ({"asset_type": "laptop", "tag": "L-1", "state": "in_use"}, "needs a holder"),
        (
            {
                "asset_type": "laptop",
                "tag": "L-1",
                "holder_employee_id": "E1",
                "state": "spare",
            },
            "needs a holder",
        ),
        ({"asset_type": "laptop", "tag": "a/b"}, "pattern"),
        ({"asset_type": "boat", "tag": "B-1"}, "asset_type"),
    ],
)
def test_an_asset_that_makes_no_sense_is_refused(
    fields: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        AssetCreate.model_validate(fields)


def test_an_asset_with_a_holder_is_in_use_and_one_without_is_spare() -> None:
    held = AssetCreate.model_validate(
        {"asset_type": "phone", "tag": "P-1", "holder_employee_id": "E1"}
    )
    spare = AssetCreate.model_validate({"asset_type": "phone", "tag": "P-2"})
    assert (held.state, spare.state) == (AssetState.IN_USE, AssetState.SPARE)


def test_a_case_closes_only_with_every_account_disabled_and_everything_back() -> None:
    items = [_item(), _item(ItemKind.DATA_HANDOVER)]
    accounts = [
        _account(AccountStatus.DISABLED),
        _account(AccountStatus.DISABLED, unfinished_steps=2),
        _account(AccountStatus.ENABLED),
        _account(AccountStatus.DELETED),
    ]
    found = outstanding_for_close(items, accounts)
    assert [o.kind for o in found] == ["account", "account", "asset_return"]
    assert "2 leaver step(s) still queued" in found[0].message
    items[0].mark_returned(AssetCondition.GOOD, "desk", "hr", NOW)
    assert outstanding_for_close(items, [_account(AccountStatus.DISABLED)]) == []
    dead = _account(AccountStatus.DISABLED, failed_steps=1)
    assert "failed" in outstanding_for_close(items, [dead])[0].message


def test_a_write_off_needs_a_reason_and_someone_else_in_the_officer_role() -> None:
    item = _item()
    with pytest.raises(CaseRuleError, match="reason"):
        item.request_write_off(WriteOffKind.LOST, "  ", "token:hr", "E5", NOW)
    item.request_write_off(WriteOffKind.LOST, "left on a train", "token:hr", "E5", NOW)
    assert item.blocks_closing  # until approved
    hr = Decider("token:hr2", "E6", frozenset({Role.HR}))
    self_ = Decider("token:other", "E5", frozenset({Role.SECURITY_OFFICER}))
    leaver = Decider("token:leaver", "E1", frozenset({Role.SECURITY_OFFICER}))
    for decider, why in (
        (hr, "security officer"),
        (self_, "own write-off"),
        (leaver, "own asset"),
    ):
        with pytest.raises(ApprovalRefused, match=why):
            item.decide_write_off(True, decider, "E1", NOW, "")
    item.decide_write_off(True, OFFICER, "E1", NOW, "police report")
    assert (item.status, item.resolution) == (ItemStatus.WRITTEN_OFF, Resolution.LOST)
    assert not item.blocks_closing


def test_a_rejected_write_off_reopens_the_item() -> None:
    item = _item()
    item.request_write_off(WriteOffKind.WRITTEN_OFF, "broken", "token:hr", None, NOW)
    item.decide_write_off(False, OFFICER, "E1", NOW, "bring it back anyway")
    assert item.status is ItemStatus.OPEN and "rejected" in item.note
    item.mark_returned(AssetCondition.DAMAGED, "desk", "hr", NOW)
    assert item.resolution is Resolution.RETURNED


def test_tasks_complete_only_with_their_own_resolution() -> None:
    card = _item(ItemKind.CARD_DEACTIVATION)
    with pytest.raises(CaseRuleError, match="deactivated"):
        card.complete(Resolution.ARCHIVED, "hr", NOW)
    card.complete(Resolution.DEACTIVATED, "hr", NOW)
    custodian = _item(ItemKind.CUSTODIAN_HANDOVER)
    with pytest.raises(CaseRuleError, match="who takes over"):
        custodian.complete(Resolution.HANDED_OVER, "hr", NOW)
    data = _item(ItemKind.DATA_HANDOVER)
    assert data.blocks_deletion and not data.blocks_closing
    with pytest.raises(CaseRuleError, match="reason"):
        data.waive("", "hr", NOW)
    with pytest.raises(CaseRuleError):
        _item().waive("no", "hr", NOW)  # only data handovers are waived
    data.waive("the system keeps no personal files", "hr", NOW)
    assert not data.blocks_deletion


def test_escalation_levels_and_the_deletion_date() -> None:
    policy = OffboardingPolicy()
    assert levels_due(NOW, NOW + timedelta(days=6), policy) == []
    assert levels_due(NOW, NOW + timedelta(days=7), policy) == [
        EscalationLevel.DEPARTMENT_HEAD
    ]
    assert len(levels_due(NOW, NOW + timedelta(days=30), policy)) == 2
    with pytest.raises(ValidationError, match="later than"):
        OffboardingPolicy(
            escalate_to_department_head_after_days=10,
            escalate_to_security_officer_after_days=10,
        )
    case = OffboardingCase(1, "E1", "Taro", "SALES", "hr:1", NOW, NOW, "hr")
    case.close("hr", NOW + timedelta(days=5), "", retention=90)
    assert case.deletion_due_at == NOW + timedelta(days=90)
    late = OffboardingCase(2, "E2", "Jiro", "SALES", "hr:2", NOW, NOW, "hr")
    late.close("hr", NOW + timedelta(days=120), "", retention=90)
    assert late.deletion_due_at == NOW + timedelta(days=120)
    with pytest.raises(CaseRuleError):
        late.close("hr", NOW, "", retention=90)


def test_a_spare_card_check_accounts_for_every_card() -> None:
    check = SpareCardCheck(NOW, ["SP-1", "SP-2"], id=3)
    with pytest.raises(AssetRuleError, match="not accounted for: SP-2"):
        check.complete({"SP-1"}, set(), "admin", NOW)
    with pytest.raises(AssetRuleError, match="not part of this check: SP-9"):
        check.complete({"SP-1", "SP-2", "SP-9"}, set(), "admin", NOW)
    check.complete({"SP-1"}, {"SP-2"}, "admin", NOW)
    assert check.missing == ["SP-2"]
    with pytest.raises(AssetRuleError, match="already completed"):
        check.complete({"SP-1"}, {"SP-2"}, "admin", NOW)
