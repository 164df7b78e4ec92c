"""Console sessions: opened at sign-in, checked on every request, ended at
sign-out, on timeout, or at once when the person is terminated (ADR 0012).

The browser holds a random 256-bit token; only its SHA-256 is stored, so a
copy of the database opens no session. Every request re-reads the session,
the person's status and their roles: a termination, a revoked role or a
disabled break-glass account takes effect on the very next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from iam_service.domain.console import (
    ConsoleSession,
    EndReason,
    SessionKind,
    SessionLimits,
)
from iam_service.domain.model import PersonStatus
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.services.console_roles import roles_of
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# last_seen_at is written at most this often: idle timeouts are exact to
# this, and a page with many fragments does not write once per fragment.
TOUCH_EVERY = timedelta(seconds=15)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """Who has just proved who they are."""

    kind: SessionKind
    subject: str  # employee id or local user name
    display_name: str
    employee_id: str | None = None
    local_username: str | None = None


@dataclass(frozen=True)
class Client:
    """Where a request comes from, as recorded with sessions and attempts."""

    address: str
    user_agent: str = ""


@dataclass(frozen=True)
class SessionState:
    """A live session as one request sees it."""

    id: int
    kind: SessionKind
    display_name: str
    principal: Principal
    active_role: Role | None

    @property
    def roles(self) -> frozenset[Role]:
        return self.principal.roles


def open_session(
    uow: UnitOfWork,
    who: SignedIn,
    client: Client,
    limits: SessionLimits,
    *,
    replaces: str | None = None,
) -> str:
    """Add a session to this transaction and return its cookie token.

    A session the browser already held (``replaces``) ends here: the id
    always changes at sign-in, so a planted id is worth nothing (fixation)."""
    now = uow.clock.now()
    if replaces:
        old = uow.console_sessions.by_token_hash(token_hash(replaces))
        if old is not None:
            old.end(now, EndReason.REPLACED)
    token = secrets.token_urlsafe(32)
    session = ConsoleSession(
        token_hash=token_hash(token),
        kind=who.kind,
        subject=who.subject,
        display_name=who.display_name,
        employee_id=who.employee_id,
        local_username=who.local_username,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
        client_address=client.address[:64],
        user_agent=client.user_agent[:300],
    )
    uow.console_sessions.add(session)
    uow.flush()
    uow.record(
        _actor(who.kind, who.subject),
        "console.signed_in",
        _target(who),
        after={"session": session.id, "kind": str(who.kind), "address": client.address},
    )
    return token


def end_sessions_of(
    uow: UnitOfWork, employee_id: str, *, actor: str, cause: str
) -> int:
    """End every session of a person in this transaction (termination hook,
    5.16 "made unusable promptly"); returns how many were live."""
    ended = uow.console_sessions.end_for_employee(
        employee_id, uow.clock.now(), EndReason.TERMINATED
    )
    if ended:
        uow.record(
            actor,
            "console.sessions_ended",
            f"person:{employee_id}",
            after={"sessions": ended, "reason": str(EndReason.TERMINATED)},
            reason=cause,
        )
    return ended


class ConsoleSessions:
    def __init__(self, uow_factory: UnitOfWorkFactory, limits: SessionLimits) -> None:
        self.uow_factory = uow_factory
        self.limits = limits

    def resolve(self, token: str) -> SessionState | None:
        """The live session for a cookie token, or None (ending it if it has
        just run out or its person may no longer use the console)."""
        with self.uow_factory() as uow:
            session = uow.console_sessions.by_token_hash(token_hash(token))
            if session is None or session.ended_at is not None or session.id is None:
                return None
            now = uow.clock.now()
            reason = session.expiry(now, self.limits)
            roles, why_not = self._roles(uow, session)
            reason = reason or why_not
            if reason is not None:
                session.end(now, reason)
                uow.record(
                    "system:console",
                    "console.session_ended",
                    _session_target(session),
                    after={"session": session.id, "reason": str(reason)},
                )
                uow.commit()
                return None
            if now - session.last_seen_at >= TOUCH_EVERY:
                session.last_seen_at = now
                uow.commit()
            return SessionState(
                id=session.id,
                kind=session.kind,
                display_name=session.display_name,
                principal=Principal(
                    name=session.subject,
                    roles=roles,
                    employee_id=session.employee_id,
                    kind=str(session.kind),
                ),
                active_role=_active(session.active_role, roles),
            )

    def end(self, token: str, reason: EndReason = EndReason.SIGNED_OUT) -> bool:
        with self.uow_factory() as uow:
            session = uow.console_sessions.by_token_hash(token_hash(token))
            if session is None or session.ended_at is not None:
                return False
            session.end(uow.clock.now(), reason)
            uow.record(
                _actor(session.kind, session.subject),
                "console.signed_out",
                _session_target(session),
                after={"session": session.id, "reason": str(reason)},
            )
            uow.commit()
            return True

    def prune(self, keep: timedelta = timedelta(days=30)) -> int:
        """Forget sign-in attempts older than ``keep`` (each failure is in
        the audit trail too) and sign-in flows that expired; sessions stay
        as a record of who was signed in when."""
        with self.uow_factory() as uow:
            now = uow.clock.now()
            removed = uow.sign_in_attempts.prune(now - keep)
            removed += uow.sign_in_flows.prune(now)
            uow.commit()
            return removed

    def switch_role(self, token: str, role: Role) -> bool:
        """Show the console as ``role`` (one the person holds)."""
        with self.uow_factory() as uow:
            session = uow.console_sessions.by_token_hash(token_hash(token))
            if session is None or session.ended_at is not None:
                return False
            roles, _ = self._roles(uow, session)
            if role not in roles:
                return False
            session.active_role = str(role)
            uow.commit()
            return True

    @staticmethod
    def _roles(
        uow: UnitOfWork, session: ConsoleSession
    ) -> tuple[frozenset[Role], EndReason | None]:
        """The roles held now, and why the session must end, if it must."""
        if session.employee_id is not None:
            person = uow.persons.by_employee_id(session.employee_id)
            if person is None or person.status is PersonStatus.TERMINATED:
                return frozenset(), EndReason.TERMINATED
            if person.status is not PersonStatus.ACTIVE:
                return frozenset(), EndReason.NO_ACCESS
        if session.kind is SessionKind.LOCAL:
            user = uow.local_users.get(session.local_username or "")
            if user is None or user.disabled:
                return frozenset(), EndReason.NO_ACCESS
            return frozenset(Role(r) for r in user.roles), None
        return roles_of(uow, session.employee_id or ""), None


def _active(chosen: str | None, roles: frozenset[Role]) -> Role | None:
    if chosen is not None and chosen in roles:
        return Role(chosen)
    order = list(Role)  # the first role held, in the enumeration's order
    return next((r for r in order if r in roles), None)


def _actor(kind: SessionKind, subject: str) -> str:
    return f"{kind}:{subject}"


def _target(who: SignedIn) -> str:
    if who.employee_id is not None:
        return f"person:{who.employee_id}"
    return f"local_user:{who.local_username}"


def _session_target(session: ConsoleSession) -> str:
    if session.employee_id is not None:
        return f"person:{session.employee_id}"
    return f"local_user:{session.local_username}"
