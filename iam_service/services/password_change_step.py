"""The worker's CHANGE_PASSWORD step: a person's own new password, set and
verified (5.17, 8.32).

The handler (``services/password_changes.py``) checked the current password
and our rules, sealed the new one in the secret store under
``payload["secret_ref"]`` and queued this step. Here:

1. the sealed password is read from the store (gone: the change expired or
   was already used; nothing to do but ask the person again);
2. it is set on the target, with no change forced at next sign-in: the
   person chose it;
3. read back: it binds (a test bind), where the system allows one;
4. the sealed copy is destroyed. A value the target's own policy refuses is
   destroyed too (retrying cannot help); a retryable failure keeps it for
   the next attempt, and ``PasswordChanges.settle`` destroys what is left
   when the operation ends some other way.

The outcome says what was checked; it never holds the password.
"""

from __future__ import annotations

from connectors.base import (
    AccountRef,
    Capability,
    Connector,
    PermanentError,
    RetryableError,
)
from iam_service.services.execution import Job, Outcome
from iam_service.services.secret_vault import SecretStore


def change_password(
    connector: Connector, ref: AccountRef, job: Job, secrets: SecretStore | None
) -> Outcome:
    """Apply and verify one self-service change; raises ``ConnectorError``."""
    secret_ref = str(job.payload.get("secret_ref", ""))
    if secrets is None:
        raise PermanentError("no secret store is configured", system=job.system_key)
    password = secrets.get(secret_ref) if secret_ref else None
    if password is None:
        raise PermanentError(
            "the new password is no longer held (it expired or was used); "
            "the person must ask for the change again",
            system=job.system_key,
        )
    must_change = bool(job.payload.get("must_change", False))
    try:
        connector.set_password(ref, password, must_change=must_change)
    except PermanentError:
        secrets.destroy(secret_ref)
        raise
    checks = []
    if Capability.TEST_BIND in connector.capabilities:
        if not connector.check_password(ref, password):
            raise RetryableError(
                f"read-back after change_password of {job.username} disagrees: "
                "the new password does not bind",
                system=job.system_key,
            )
        checks.append("new_binds")
    secrets.destroy(secret_ref)
    state = connector.get_account(ref)
    return Outcome(
        result={"password": "changed", "checks": checks}, enabled=state.enabled
    )
