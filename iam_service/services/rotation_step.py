"""The worker's ROTATE_PASSWORD step: a new admin password, set and verified.

5.18: the password of a privileged account changes when its custodian hands
it over. The handler wrote only *which* account and *where* the result goes
(``store_ref``); the password is born here, at execution time:

1. generate it (``new_password``: the policy's password rules, 5.17);
2. hand it to the secret store under ``store_ref`` *before* setting it, so
   a crash after the reset never leaves a password nobody can learn;
3. set it on the target (``set_password``, no change forced at next
   sign-in: a service account must keep working);
4. verify (8.32) where the system allows: the new password binds (a test
   bind, ``Capability.TEST_BIND``); the previous password we generated, if
   the store still holds it, no longer binds; the system's own record of the
   last change (AD ``pwdLastSet``) moved. An old password we never knew
   cannot be tried: a new password that binds proves the value changed, and
   the moved ``pwdLastSet`` that the change happened now;
5. destroy the superseded secret.

The outcome names the checks that passed; it never holds the password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from connectors.base import (
    AccountRef,
    Capability,
    Connector,
    PasswordChangeReader,
    PermanentError,
    RetryableError,
    Secret,
)
from iam_service.domain.password_rules import PasswordRules, generate
from iam_service.domain.privileged import RotationCheck
from iam_service.services.execution import Job, Outcome
from iam_service.services.secret_vault import SecretStore

log = logging.getLogger(__name__)
T = TypeVar("T")


def new_password(rules: PasswordRules) -> Secret:
    """5.17: a random password meeting the policy's rules (long, every kind
    of character, AD's complexity included)."""
    return Secret(generate(rules))


def rotate_password(
    connector: Connector, job: Job, secrets: SecretStore | None
) -> Outcome:
    """Apply and verify one rotation; raises ``ConnectorError`` on failure."""
    if secrets is None:
        raise PermanentError(
            "no secret store is configured: a rotated password could not reach "
            "its recipient",
            system=job.system_key,
        )
    payload = job.payload
    ref = AccountRef(str(payload["native_id"]), str(payload["username"]))
    reader = connector if isinstance(connector, PasswordChangeReader) else None
    before = reader.password_changed_at(ref) if reader else None
    previous_ref = payload.get("previous_ref")
    previous = (
        _store(job, lambda: secrets.get(str(previous_ref))) if previous_ref else None
    )
    password = new_password(job.password_rules)
    _store(job, lambda: secrets.put(str(payload["store_ref"]), password))
    connector.set_password(ref, password, must_change=False)
    checks: list[RotationCheck] = []
    result: dict[str, Any] = {"rotation": payload["rotation_id"]}
    # A disabled account cannot bind with any password: its reset is then
    # proved by the last-change time alone.
    binds = Capability.TEST_BIND in connector.capabilities and (
        connector.get_account(ref).enabled
    )
    if binds:
        _expect(
            connector.check_password(ref, password), job, "the new one does not bind"
        )
        checks.append(RotationCheck.NEW_BINDS)
        if previous is not None:
            _expect(
                not connector.check_password(ref, previous), job, "the old one binds"
            )
            checks.append(RotationCheck.OLD_REFUSED)
    if reader is not None:
        after = reader.password_changed_at(ref)
        _expect(
            after is not None and (before is None or after > before),
            job,
            "the system's last-change time did not move",
        )
        checks.append(RotationCheck.LAST_CHANGE_MOVED)
        result["changed_at"] = after.isoformat() if after else None
    if previous_ref:
        _discard(secrets, str(previous_ref))
    result["checks"] = [c.value for c in checks or [RotationCheck.ACCEPTED]]
    return Outcome(result=result)


def _discard(secrets: SecretStore, ref: str) -> None:
    """Destroy a superseded secret; a failure leaves it to the purge job."""
    try:
        secrets.destroy(ref)
    except Exception as error:  # noqa: BLE001 - the rotation itself succeeded
        log.warning("could not destroy superseded secret %s: %s", ref, type(error))


def _store(job: Job, call: Callable[[], T]) -> T:
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - any store failure: try later
        raise RetryableError(
            f"the secret store failed ({type(error).__name__}); nothing was set",
            system=job.system_key,
        ) from None


def _expect(condition: bool, job: Job, problem: str) -> None:
    if not condition:
        raise RetryableError(
            f"password rotation of {job.payload.get('username')}: {problem}",
            system=job.system_key,
        )
