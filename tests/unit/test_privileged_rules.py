"""The inventory's rules (8.2, 5.18) as pure functions: flags, the transfer
rule, approvals in force, and AD's SIDs as discovery reads them."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from connectors.ad_privileged import sid_string
from iam_service.domain.model import PersonStatus
from iam_service.domain.privileged import (
    AccountSource,
    AdminPositions,
    Approval,
    Custodian,
    Flag,
    GrantApproval,
    Holding,
    OwnerKind,
    PrivilegedAccount,
    PrivilegedPolicy,
    flags,
    leaves_admin_position,
)
from iam_service.domain.privileged_requests import OwnerUpdate

NOW = datetime(2027, 1, 10, tzinfo=UTC)


def _account(**changes: object) -> PrivilegedAccount:
    account = PrivilegedAccount(
        system_key="ad",
        username="adm-x",
        source=AccountSource.DISCOVERED,
        rights=[Holding("Domain Admins", "group").as_dict()],
        owner_kind=OwnerKind.PERSON,
        owner_employee_id="E1",
        first_seen_at=NOW - timedelta(days=10),
        id=1,
    )
    for name, value in changes.items():
        setattr(account, name, value)
    return account


def _flags(account: PrivilegedAccount, **kwargs: object) -> list[Flag]:
    values: dict[str, object] = {
        "custodians": [],
        "approvals": [],
        "grants": [],
        "status_of": {"E1": PersonStatus.ACTIVE, "E2": PersonStatus.ACTIVE},
        "last_rotated_at": None,
        "rotation_period": None,
        "now": NOW,
    }
    values.update(kwargs)
    return flags(account, **values)  # type: ignore[arg-type]


def test_an_approved_account_with_a_present_owner_has_no_flag() -> None:
    approval = Approval(1, "sysadmin", NOW - timedelta(days=1), "backups")
    assert _flags(_account(), approvals=[approval]) == []


def test_what_is_wrong_is_flagged() -> None:
    left = {"E1": PersonStatus.TERMINATED, "E2": PersonStatus.TERMINATED}
    custodian = Custodian(1, "E2", NOW - timedelta(days=3), "test")
    assert _flags(_account(), custodians=[custodian], status_of=left) == [
        Flag.NO_APPROVAL,
        Flag.OWNER_LEFT,
        Flag.CUSTODIAN_LEFT,
    ]
    assert _flags(_account(owner_employee_id=None, possibly_stale=True)) == [
        Flag.NO_APPROVAL,
        Flag.NO_OWNER,
        Flag.POSSIBLY_STALE,
    ]
    # A custodianship that ended does not count.
    custodian.ended_at = NOW
    assert Flag.CUSTODIAN_LEFT not in _flags(
        _account(), custodians=[custodian], status_of=left
    )


def test_approvals_count_only_while_in_force() -> None:
    expired = Approval(1, "s", NOW - timedelta(days=9), "r", expires_at=NOW)
    revoked = Approval(1, "s", NOW - timedelta(days=9), "r", revoked_at=NOW)
    assert Flag.NO_APPROVAL in _flags(_account(), approvals=[expired, revoked])


def test_grants_approve_only_the_rights_they_cover_for_their_window() -> None:
    two = _account(
        rights=[
            Holding("Domain Admins", "group").as_dict(),
            Holding("Schema Admins", "group").as_dict(),
        ]
    )
    window = GrantApproval("Domain Admins", "elevation", NOW, NOW + timedelta(hours=1))
    assert Flag.NO_APPROVAL in _flags(two, grants=[window])
    assert Flag.NO_APPROVAL not in _flags(_account(), grants=[window])
    later = NOW + timedelta(hours=2)
    assert Flag.NO_APPROVAL in _flags(_account(), grants=[window], now=later)


def test_rotation_falls_due_after_the_period() -> None:
    period = timedelta(days=30)
    assert Flag.ROTATION_DUE not in _flags(_account(), rotation_period=period)
    old = NOW - timedelta(days=31)
    assert Flag.ROTATION_DUE in _flags(
        _account(), rotation_period=period, last_rotated_at=old
    )
    policy = PrivilegedPolicy(
        rotate_every_days=90, rotate_every_days_by_system={"fs": 7}
    )
    assert policy.rotation_period("fs") == timedelta(days=7)
    assert policy.rotation_period("ad") == timedelta(days=90)
    assert PrivilegedPolicy().rotation_period("ad") is None


def test_the_transfer_rule_needs_leaving_every_admin_position() -> None:
    positions = AdminPositions(departments=("IT",), titles=("Security Officer",))
    assert leaves_admin_position(positions, ("IT", "Engineer"), ("SALES", "Staff"))
    assert not leaves_admin_position(positions, ("IT", "Engineer"), ("IT", "Lead"))
    assert not leaves_admin_position(
        positions, ("IT", "Engineer"), ("GA", "security officer")
    )
    assert not leaves_admin_position(positions, ("SALES", "Staff"), ("HR", "Staff"))


def test_a_holding_reads_with_its_nesting() -> None:
    nested = Holding("Domain Admins", "group", ("g-ops",))
    assert nested.label() == "Domain Admins (via g-ops)"
    assert Holding.of(nested.as_dict()) == nested


def test_a_service_owner_needs_its_name() -> None:
    with pytest.raises(ValidationError):
        OwnerUpdate(kind=OwnerKind.SERVICE, employee_id="E1")
    with pytest.raises(ValidationError):
        OwnerUpdate(kind=OwnerKind.UNKNOWN, employee_id="E1")


def test_sids_read_as_strings() -> None:
    domain = (21, 1967432386, 1581485843, 3606855934)
    raw = bytes([1, 5, 0, 0, 0, 0, 0, 5]) + struct.pack("<5I", *domain, 512)
    assert sid_string(raw) == "S-1-5-21-1967432386-1581485843-3606855934-512"
    builtin = bytes([1, 2, 0, 0, 0, 0, 0, 5]) + struct.pack("<2I", 32, 544)
    assert sid_string(builtin) == "S-1-5-32-544"
