"""API tokens and local administrator accounts.

Tokens look like ``iam_<prefix>_<secret>``: the prefix names the token in
listings and logs, the secret is 256 random bits. Only the SHA-256 of the
whole token is stored; a slow hash adds nothing for a value that cannot be
guessed (``docs/decisions/0005-api-tokens.md``). Local passwords, which
people choose, are hashed with argon2 through passlib.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from iam_service.adapters.password_hashing import hash_secret, verify_secret
from iam_service.domain.password_rules import RuleResult
from iam_service.domain.security import ApiToken, LocalUser, Role
from iam_service.services.errors import ConflictError, InvalidInput
from iam_service.services.unit_of_work import UnitOfWorkFactory

TOKEN_PREFIX = "iam_"  # noqa: S105 - a format marker, not a secret


@cache
def _dummy_hash() -> str:
    # Verifying against this keeps the time of "no such user" equal to a
    # wrong password, so user names cannot be probed.
    return hash_secret("not-a-real-password-" + secrets.token_hex(8))


@dataclass(frozen=True)
class Principal:
    """Who is calling, and in which role."""

    name: str
    roles: frozenset[Role]
    employee_id: str | None = None
    kind: str = "token"

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.name}"

    def has(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return hash_secret(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        verify_secret(password, _dummy_hash())
        return False
    return verify_secret(password, password_hash)


# Judges a new local password against the policy's rules (5.17), given the
# names it must not contain; services/password_checks.py provides it.
PasswordVerdict = Callable[[str, tuple[str, ...]], RuleResult]


class AuthService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, verdict: PasswordVerdict | None = None
    ) -> None:
        self.uow_factory = uow_factory
        self.verdict = verdict

    def create_token(
        self, name: str, role: Role, *, actor: str, employee_id: str | None = None
    ) -> str:
        """Create a token and return it; this is the only time it is shown.

        ``employee_id`` ties it to a person, whom 5.3 checks then compare
        (nobody approves their own request); machines have none."""
        if not name.strip():
            raise InvalidInput("a token needs a name", field="name")
        prefix = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with self.uow_factory() as uow:
            if uow.tokens.by_name(name) is not None:
                raise ConflictError(f"a token named {name!r} exists", field="name")
            uow.tokens.add(
                ApiToken(
                    name=name,
                    role=role,
                    prefix=prefix,
                    token_hash=hash_token(token),
                    created_at=uow.clock.now(),
                    created_by=actor,
                    employee_id=employee_id,
                )
            )
            uow.record(
                actor,
                "token.created",
                f"token:{name}",
                after={
                    "name": name,
                    "role": str(role),
                    "prefix": prefix,
                    "employee_id": employee_id,
                },
            )
            uow.commit()
        return token

    def revoke_token(self, name: str, *, actor: str) -> bool:
        with self.uow_factory() as uow:
            token = uow.tokens.by_name(name)
            if token is None or token.revoked_at is not None:
                return False
            token.revoked_at = uow.clock.now()
            uow.record(actor, "token.revoked", f"token:{name}")
            uow.commit()
            return True

    def authenticate_token(self, presented: str) -> Principal | None:
        if not presented.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(presented)
        with self.uow_factory() as uow:
            token = uow.tokens.by_hash(digest)
            if token is None or not hmac.compare_digest(token.token_hash, digest):
                return None
            if not token.usable(uow.clock.now()):
                return None
            return Principal(
                name=token.name,
                roles=frozenset({token.role}),
                employee_id=token.employee_id,
            )

    def create_local_user(
        self,
        username: str,
        password: str,
        roles: list[Role],
        *,
        actor: str,
        employee_id: str | None = None,
    ) -> None:
        if len(password) < 12:
            raise InvalidInput(
                "a local administrator password needs 12 or more characters",
                field="password",
            )
        result = self.verdict(password, (username,)) if self.verdict else None
        if result is not None and not result.ok:
            raise InvalidInput(
                "the password breaks these rules (5.17): "
                + ", ".join(f.rule for f in result.failures),
                field="password",
                details=[
                    {"field": "password", "rule": str(f.rule), "limit": f.limit}
                    for f in result.failures
                ],
            )
        with self.uow_factory() as uow:
            if uow.local_users.get(username) is not None:
                raise ConflictError(f"local user {username!r} exists", field="username")
            uow.local_users.add(
                LocalUser(
                    username=username,
                    password_hash=hash_password(password),
                    roles=[str(r) for r in roles],
                    created_at=uow.clock.now(),
                    employee_id=employee_id,
                )
            )
            uow.record(
                actor,
                "local_user.created",
                f"local_user:{username}",
                after={"roles": [str(r) for r in roles]},
            )
            uow.commit()

    def authenticate_local(self, username: str, password: str) -> Principal | None:
        with self.uow_factory() as uow:
            user = uow.local_users.get(username)
            ok = verify_password(password, user.password_hash if user else None)
            if user is None or not ok or user.disabled:
                return None
            return Principal(
                name=user.username,
                roles=frozenset(Role(r) for r in user.roles),
                employee_id=user.employee_id,
                kind="local",
            )
