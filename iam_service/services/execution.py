"""Applying one operation with a connector, then reading the result back.

8.32: a change is verified after it is applied. Each operation kind has an
apply step and a verify step; an apply that the read-back contradicts is a
retryable failure, never a silent success.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.base import (
    AccountRef,
    AccountRestorer,
    AccountSpec,
    AccountState,
    Capability,
    Connector,
    LicenseManager,
    NotFound,
    NotSupported,
    PermanentError,
    RetryableError,
    Secret,
)
from iam_service.domain.operations import OperationKind
from iam_service.domain.password_rules import PasswordRules, generate

if TYPE_CHECKING:
    from iam_service.services.secret_vault import SecretStore

Checkpoint = Callable[[dict[str, Any]], None]

# Leaver steps succeed when the account is already gone: the goal (the
# account cannot be used) holds.
_GONE_IS_DONE = frozenset(
    {
        OperationKind.DISABLE_ACCOUNT,
        OperationKind.SCRAMBLE_PASSWORD,
        OperationKind.REMOVE_FROM_GROUP,
        OperationKind.REMOVE_ALL_GROUPS,
        OperationKind.REVOKE_SESSIONS,
        OperationKind.MOVE_TO_LEAVERS,
        OperationKind.REMOVE_LICENSES,
        OperationKind.DELETE_ACCOUNT,
    }
)


@dataclass(frozen=True)
class Job:
    """What the worker read from the queue, detached from the session."""

    operation_id: int
    kind: OperationKind
    payload: dict[str, Any]
    system_key: str
    username: str
    native_id: str | None
    manager_native_id: str | None = None
    checkpoint_data: dict[str, Any] = field(default_factory=dict)
    # The policy's rules every generated password meets (5.17).
    password_rules: PasswordRules = field(default_factory=PasswordRules)


@dataclass
class Outcome:
    """What happened, as verified by read-back."""

    result: dict[str, Any] = field(default_factory=dict)
    native_id: str | None = None
    enabled: bool | None = None  # the verified state, when read back
    gone: bool = False


def execute(
    connector: Connector,
    job: Job,
    checkpoint: Checkpoint,
    *,
    secrets: SecretStore | None = None,
) -> Outcome:
    """Apply and verify ``job``; raises ``ConnectorError`` on failure.

    ``secrets`` receives passwords someone must learn (ROTATE_PASSWORD)."""
    if job.kind is OperationKind.ROTATE_PASSWORD:
        # A privileged account, possibly none of our people's: addressed by
        # its payload, not by an accounts row (services/rotation_step.py).
        from iam_service.services.rotation_step import rotate_password

        return rotate_password(connector, job, secrets)
    if job.kind is OperationKind.CREATE_ACCOUNT:
        return _create(connector, job)
    ref = _resolve(connector, job)
    if ref is None:
        if job.kind in _GONE_IS_DONE:
            return Outcome(
                result={"note": "the account does not exist in the system"}, gone=True
            )
        raise PermanentError(
            f"account {job.username} was never created", system=job.system_key
        )
    if job.kind is OperationKind.CHANGE_PASSWORD:
        # The person's own new password, sealed in ``secrets`` (5.17).
        from iam_service.services.password_change_step import change_password

        return change_password(connector, ref, job, secrets)
    try:
        return _STEPS[job.kind](connector, ref, job, checkpoint)
    except NotFound:
        if job.kind in _GONE_IS_DONE:
            return Outcome(result={"note": "the account no longer exists"}, gone=True)
        raise


def _resolve(connector: Connector, job: Job) -> AccountRef | None:
    if job.native_id:
        return AccountRef(native_id=job.native_id, username=job.username)
    found = connector.find_account(username=job.username)
    return found.ref if found else None


def _spec(job: Job) -> AccountSpec:
    a = job.payload["account"]
    return AccountSpec(
        username=job.username,
        employee_id=a["employee_id"],
        given_name=a["given_name"],
        family_name=a["family_name"],
        email=a["email"],
        department=a.get("department"),
        title=a.get("title"),
        manager_native_id=job.manager_native_id,
        enabled=bool(job.payload.get("enabled", True)),
    )


def _create(connector: Connector, job: Job) -> Outcome:
    spec = _spec(job)
    ref = connector.create_account(spec, Secret(generate(job.password_rules)))
    state = connector.get_account(ref)
    if state.employee_id not in (None, spec.employee_id):
        raise PermanentError(f"{ref.username} belongs to employee {state.employee_id}")
    _expect(state.enabled == spec.enabled, job, f"enabled={state.enabled}")
    return Outcome(
        result={"native_id": ref.native_id, "enabled": state.enabled},
        native_id=ref.native_id,
        enabled=state.enabled,
    )


def _update(connector: Connector, ref: AccountRef, job: Job, _: Checkpoint) -> Outcome:
    changes = dict(job.payload["changes"])
    if "manager_employee_id" in changes:
        changes.pop("manager_employee_id")
        changes["manager_native_id"] = job.manager_native_id
    connector.update_account(ref, changes)
    state = connector.get_account(ref)
    wrong = [k for k, v in changes.items() if not _same(state.attributes.get(k), v)]
    _expect(not wrong, job, f"attributes not as set: {', '.join(wrong)}")
    return Outcome(result={"changed": sorted(changes)}, enabled=state.enabled)


def _set_enabled(
    connector: Connector, ref: AccountRef, job: Job, _: Checkpoint
) -> Outcome:
    enabled = job.kind is OperationKind.ENABLE_ACCOUNT
    connector.set_enabled(ref, enabled)
    state = connector.get_account(ref)
    _expect(state.enabled == enabled, job, f"still enabled={state.enabled}")
    return Outcome(result={"enabled": state.enabled}, enabled=state.enabled)


def _scramble(
    connector: Connector, ref: AccountRef, job: Job, _: Checkpoint
) -> Outcome:
    # A random password nobody learns: even a re-enabled account stays unusable.
    password = Secret(generate(job.password_rules))
    connector.set_password(ref, password, must_change=True)
    state = connector.get_account(ref)
    return Outcome(result={"password": "scrambled"}, enabled=state.enabled)


def _group(connector: Connector, ref: AccountRef, job: Job, _: Checkpoint) -> Outcome:
    group = str(job.payload["group"])
    adding = job.kind is OperationKind.ADD_TO_GROUP
    (connector.add_to_group if adding else connector.remove_from_group)(ref, group)
    state = connector.get_account(ref)
    _expect(_member(state, group) == adding, job, f"membership of {group} not as set")
    return Outcome(result={"group": group, "member": adding}, enabled=state.enabled)


def _remove_all(
    connector: Connector, ref: AccountRef, job: Job, cp: Checkpoint
) -> Outcome:
    state = connector.get_account(ref)
    # 5.18: what the leaver held is recorded *before* it is removed, so the
    # record survives a crash half-way through.
    recorded = sorted(set(job.checkpoint_data.get("groups", [])) | state.groups)
    cp({"groups": recorded})
    for group in sorted(state.groups):
        connector.remove_from_group(ref, group)
    after = connector.get_account(ref)
    _expect(
        not after.groups, job, f"still a member of {', '.join(sorted(after.groups))}"
    )
    return Outcome(result={"groups": recorded}, enabled=after.enabled)


def _revoke(connector: Connector, ref: AccountRef, _job: Job, _: Checkpoint) -> Outcome:
    connector.revoke_sessions(ref)
    state = connector.get_account(ref)
    return Outcome(result={"sessions": "revoked"}, enabled=state.enabled)


def _move(connector: Connector, ref: AccountRef, _job: Job, _: Checkpoint) -> Outcome:
    connector.move_to_leavers(ref)
    state = connector.get_account(ref)
    return Outcome(
        result={"location": state.location, "hidden": state.hidden_from_address_lists},
        enabled=state.enabled,
    )


def _licenses(
    connector: Connector, ref: AccountRef, job: Job, _: Checkpoint
) -> Outcome:
    if not isinstance(connector, LicenseManager):
        raise NotSupported("this system has no licences", system=job.system_key)
    removed = connector.remove_licenses(ref)
    state = connector.get_account(ref)
    return Outcome(result={"licences_removed": removed}, enabled=state.enabled)


def _restore(connector: Connector, ref: AccountRef, job: Job, _: Checkpoint) -> Outcome:
    """A rehire (5.16): back from the leavers' container, and a fresh random
    password that must change, so a password from before the termination
    never works again. Enabling is a separate step."""
    result: dict[str, Any] = {}
    if isinstance(connector, AccountRestorer):
        location = connector.restore_account(ref)
        result["location"] = location
    elif Capability.MOVE_TO_LEAVERS in connector.capabilities:
        raise NotSupported(
            "this system has a leavers' container but cannot restore from it",
            system=job.system_key,
        )
    if Capability.PASSWORD in connector.capabilities:
        password = Secret(generate(job.password_rules))
        connector.set_password(ref, password, must_change=True)
        result["password"] = "fresh"  # noqa: S105 - what happened, not the value
    state = connector.get_account(ref)
    if "location" in result:
        _expect(
            _same(state.location, result["location"])
            and not state.hidden_from_address_lists,
            job,
            f"still in {state.location}",
        )
    return Outcome(result=result, enabled=state.enabled)


def _delete(connector: Connector, ref: AccountRef, job: Job, _: Checkpoint) -> Outcome:
    connector.delete_account(ref)
    try:
        connector.get_account(ref)
    except NotFound:
        return Outcome(result={"deleted": True}, gone=True)
    raise RetryableError(
        f"{job.username} still exists after delete", system=job.system_key
    )


_STEPS: dict[
    OperationKind, Callable[[Connector, AccountRef, Job, Checkpoint], Outcome]
] = {
    OperationKind.UPDATE_ACCOUNT: _update,
    OperationKind.ENABLE_ACCOUNT: _set_enabled,
    OperationKind.DISABLE_ACCOUNT: _set_enabled,
    OperationKind.SCRAMBLE_PASSWORD: _scramble,
    OperationKind.ADD_TO_GROUP: _group,
    OperationKind.REMOVE_FROM_GROUP: _group,
    OperationKind.REMOVE_ALL_GROUPS: _remove_all,
    OperationKind.REVOKE_SESSIONS: _revoke,
    OperationKind.MOVE_TO_LEAVERS: _move,
    OperationKind.REMOVE_LICENSES: _licenses,
    OperationKind.DELETE_ACCOUNT: _delete,
    OperationKind.RESTORE_ACCOUNT: _restore,
}


def _member(state: AccountState, group: str) -> bool:
    return group.casefold() in {g.casefold() for g in state.groups}


def _same(actual: str | None, wanted: Any) -> bool:
    if wanted is None or wanted == "":
        return actual in (None, "")
    return actual is not None and str(actual).casefold() == str(wanted).casefold()


def _expect(condition: bool, job: Job, problem: str) -> None:
    if not condition:
        raise RetryableError(
            f"read-back after {job.kind} of {job.username} disagrees: {problem}",
            system=job.system_key,
        )
