"""Break-glass sign-in: a local account's argon2 password and a TOTP code.

Guessing is slowed twice (ADR 0012): failures from one client address over
``address_limit`` in the window refuse every further try from it (429), and
``max_failures`` wrong passwords or codes in a row lock the account for
``lockout`` (audited); a locked account is refused even with the right
password and code. Refusals never say which part was wrong.

The first sign-in of an account without TOTP shows its secret once (QR code
and ``otpauth://`` URI) and opens the session only after a code from it
checks; the secret is stored encrypted with the service key, never in clear.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from iam_service.domain.console import (
    EndReason,
    SessionKind,
    SessionLimits,
    SignInAttempt,
    SignInFlow,
)
from iam_service.domain.security import LocalUser
from iam_service.services import totp
from iam_service.services.auth import verify_password
from iam_service.services.console_sessions import (
    Client,
    SignedIn,
    open_session,
    token_hash,
)
from iam_service.services.errors import NotFoundError, ServiceError
from iam_service.services.secret_box import SecretBox, SecretUnreadable
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

ENROLMENT_MINUTES = 10
ISSUER = "IAM console"


class SignInRefused(ServiceError):
    status_code = 401
    code = "sign_in_refused"


class AccountLocked(ServiceError):
    status_code = 423
    code = "account_locked"


class TooManyAttempts(ServiceError):
    status_code = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class Guard:
    """Throttling and lockout settings."""

    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    address_limit: int = 20
    address_window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Enrolment:
    """A TOTP secret to show once; ``flow`` continues the sign-in."""

    flow: str
    secret: str
    uri: str


@dataclass(frozen=True)
class LocalOutcome:
    session: str | None = None  # the new session's cookie token
    enrolment: Enrolment | None = None


def throttle(uow: UnitOfWork, guard: Guard, client: Client, account: str) -> None:
    """Refuse (and record) a try from an address that failed too often."""
    since = uow.clock.now() - guard.address_window
    if uow.sign_in_attempts.failures_from(client.address, since) < guard.address_limit:
        return
    note_failure(uow, client, account, "throttled")
    uow.commit()
    raise TooManyAttempts("too many failed sign-ins from here; try again later")


def note_failure(uow: UnitOfWork, client: Client, account: str, reason: str) -> None:
    uow.sign_in_attempts.add(
        SignInAttempt(
            at=uow.clock.now(),
            client_address=client.address[:64],
            account=account[:200],
            succeeded=False,
            reason=reason,
        )
    )
    uow.record(
        "system:console",
        "console.sign_in_failed",
        f"sign_in:{account[:100]}",
        after={"reason": reason, "address": client.address},
    )


class LocalSignIn:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        box: SecretBox,
        limits: SessionLimits,
        guard: Guard,
    ) -> None:
        self.uow_factory = uow_factory
        self.box = box
        self.limits = limits
        self.guard = guard

    def sign_in(
        self,
        username: str,
        password: str,
        code: str,
        client: Client,
        *,
        replaces: str | None = None,
    ) -> LocalOutcome:
        """Check the password and code; a session, or a TOTP enrolment."""
        username = username.strip()[:100]
        with self.uow_factory() as uow:
            throttle(uow, self.guard, client, username)
            user = uow.local_users.get(username)
            password_ok = verify_password(
                password, user.password_hash if user else None
            )
            now = uow.clock.now()
            if user is not None and user.locked_until and user.locked_until > now:
                note_failure(uow, client, username, "locked")
                uow.commit()
                raise AccountLocked("this account is locked for a while")
            if user is None or user.disabled or not password_ok:
                self._fail(uow, user, client, username, "password")
            if user.totp_secret_encrypted is None:
                enrolment = self._start_enrolment(uow, user)
                uow.commit()
                return LocalOutcome(enrolment=enrolment)
            secret = self._secret(user)
            step = totp.matching_step(secret, code, now, after=user.totp_last_step)
            if step is None:
                self._fail(uow, user, client, username, "code")
            user.totp_last_step = step
            token = self._succeed(uow, user, client, replaces)
            uow.commit()
            return LocalOutcome(session=token)

    def confirm_enrolment(
        self, flow: str, code: str, client: Client, *, replaces: str | None = None
    ) -> str:
        """Finish a first sign-in: the code proves the app holds the secret."""
        with self.uow_factory() as uow:
            found = uow.sign_in_flows.by_token_hash(token_hash(flow))
            now = uow.clock.now()
            if found is None or found.kind != "totp_enrolment" or not found.usable(now):
                raise SignInRefused("this sign-in has expired; start again")
            data = json.loads(self.box.open(found.data_encrypted))
            username = str(data["username"])
            throttle(uow, self.guard, client, username)
            user = uow.local_users.get(username)
            step = totp.matching_step(str(data["secret"]), code, now)
            if user is None or step is None:
                self._fail(uow, user, client, username, "enrolment_code")
            user.totp_secret_encrypted = self.box.seal(str(data["secret"]))
            user.totp_last_step = step
            found.used_at = now
            uow.record(
                f"local:{username}",
                "console.totp_enrolled",
                f"local_user:{username}",
            )
            token = self._succeed(uow, user, client, replaces)
            uow.commit()
            return token

    def reset_totp(self, username: str, *, actor: str, reason: str) -> None:
        """Forget an account's TOTP secret: its next sign-in enrols anew."""
        with self.uow_factory() as uow:
            user = uow.local_users.get(username)
            if user is None:
                raise NotFoundError(f"no local user {username!r}")
            user.totp_secret_encrypted = None
            user.totp_last_step = None
            uow.console_sessions.end_for_local_user(
                username, uow.clock.now(), EndReason.NO_ACCESS
            )
            uow.record(
                actor, "console.totp_reset", f"local_user:{username}", reason=reason
            )
            uow.commit()

    def unlock(self, username: str, *, actor: str, reason: str) -> None:
        with self.uow_factory() as uow:
            user = uow.local_users.get(username)
            if user is None:
                raise NotFoundError(f"no local user {username!r}")
            user.locked_until, user.failed_logins = None, 0
            uow.record(
                actor,
                "console.account_unlocked",
                f"local_user:{username}",
                reason=reason,
            )
            uow.commit()

    def _fail(
        self,
        uow: UnitOfWork,
        user: LocalUser | None,
        client: Client,
        username: str,
        reason: str,
    ) -> NoReturn:
        note_failure(uow, client, username, reason)
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= self.guard.max_failures:
                user.locked_until = uow.clock.now() + self.guard.lockout
                user.failed_logins = 0
                uow.record(
                    "system:console",
                    "console.account_locked",
                    f"local_user:{user.username}",
                    after={
                        "until": user.locked_until.isoformat(),
                        "failures": self.guard.max_failures,
                        "address": client.address,
                    },
                )
        uow.commit()
        raise SignInRefused("the user name, password or code is not right")

    def _succeed(
        self, uow: UnitOfWork, user: LocalUser, client: Client, replaces: str | None
    ) -> str:
        user.failed_logins, user.locked_until = 0, None
        uow.sign_in_attempts.add(
            SignInAttempt(
                at=uow.clock.now(),
                client_address=client.address[:64],
                account=user.username,
                succeeded=True,
            )
        )
        who = SignedIn(
            kind=SessionKind.LOCAL,
            subject=user.username,
            display_name=user.username,
            employee_id=user.employee_id,
            local_username=user.username,
        )
        return open_session(uow, who, client, self.limits, replaces=replaces)

    def _start_enrolment(self, uow: UnitOfWork, user: LocalUser) -> Enrolment:
        secret = totp.new_secret()
        flow = secrets.token_urlsafe(32)
        now = uow.clock.now()
        uow.sign_in_flows.add(
            SignInFlow(
                token_hash=token_hash(flow),
                kind="totp_enrolment",
                data_encrypted=self.box.seal(
                    json.dumps({"username": user.username, "secret": secret})
                ),
                created_at=now,
                expires_at=now + timedelta(minutes=ENROLMENT_MINUTES),
            )
        )
        uri = totp.provisioning_uri(secret, user.username, ISSUER)
        return Enrolment(flow=flow, secret=secret, uri=uri)

    def _secret(self, user: LocalUser) -> str:
        try:
            return self.box.open(user.totp_secret_encrypted or "")
        except SecretUnreadable:
            # The service key changed: the account must enrol again.
            raise SignInRefused(
                "this account's second factor cannot be read; ask an operator "
                "to reset it (iamctl user totp-reset)"
            ) from None
