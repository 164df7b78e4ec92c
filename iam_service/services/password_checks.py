"""The interactive password check (5.17) and the context every check needs.

``PasswordChecks.check`` is what the API and the console page call while a
person types: the active policy's rules, the shipped blocklist, the person's
names and user names and the company name as zxcvbn context. It never
stores, logs or audits the password, and it never tells whether a password
was someone's earlier one (history is asked only when that person changes
their own password: otherwise the check would be an oracle for old ones).

``PasswordChecks.context`` builds the same context for the self-service
change, with the history test (argon2 hashes, ``history`` per person per
system); ``remember`` records a new hash and forgets older ones.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from iam_service.adapters.password_blocklist import load_blocklist
from iam_service.adapters.password_hashing import hash_secret, verify_secret
from iam_service.domain.clock import Clock
from iam_service.domain.model import Person
from iam_service.domain.password_records import PasswordHistoryEntry
from iam_service.domain.password_rules import (
    Blocklist,
    PasswordContext,
    PasswordRules,
    RuleResult,
    check,
)
from iam_service.domain.policy import Policy
from iam_service.services.errors import InvalidInput, NotFoundError, ServiceError
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

# Far above any rule's maximum: refuse absurd input before zxcvbn sees it.
MAX_INPUT = 1024


class TooManyChecks(ServiceError):
    status_code = 429
    code = "too_many_requests"


class RateLimiter:
    """At most ``limit`` calls per ``window`` for one key, in this process:
    enough for live feedback while typing, too few to run a dictionary."""

    def __init__(self, clock: Clock, limit: int, window: timedelta) -> None:
        self.clock, self.limit, self.window = clock, limit, window
        self._calls: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock.now()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                return False
            calls.append(now)
            return True


@dataclass(frozen=True)
class Subject:
    """Whose password is checked: names for the context (never stored)."""

    names: tuple[str, ...] = ()
    person_id: int | None = None


class PasswordChecks:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        policy: Callable[[], Policy],
        company: str,
        limiter: RateLimiter,
        blocklist: Callable[[], Blocklist] = load_blocklist,
    ) -> None:
        self.uow_factory = uow_factory
        self.policy = policy
        self.company = company
        self.limiter = limiter
        self.blocklist = blocklist

    @property
    def rules(self) -> PasswordRules:
        return self.policy().passwords

    def check(
        self,
        password: str,
        *,
        employee_id: str | None = None,
        username: str | None = None,
        caller: str = "",
    ) -> RuleResult:
        """Which rules ``password`` breaks, for someone typing it (5.17).

        ``employee_id`` adds that person's names and user names to the
        context; ``username`` adds a user name (a new account's). ``caller``
        (the actor) is rate-limited."""
        if not self.limiter.allow(caller):
            raise TooManyChecks("too many password checks; wait a moment")
        if len(password) > MAX_INPUT:
            raise InvalidInput(
                f"a password has at most {MAX_INPUT} characters", field="password"
            )
        subject = Subject(names=(username,) if username else ())
        if employee_id:
            with self.uow_factory() as uow:
                subject = self.subject(uow, employee_id, extra=subject.names)
        return check(password, self.context(subject))

    def verdict(self, password: str, names: tuple[str, ...]) -> RuleResult:
        """The rules' verdict for a password a use case is about to accept
        (a local administrator's), with ``names`` as context; no rate limit."""
        return check(password, self.context(Subject(names=names)))

    def subject(
        self, uow: UnitOfWork, employee_id: str, *, extra: tuple[str, ...] = ()
    ) -> Subject:
        person = uow.persons.by_employee_id(employee_id)
        if person is None or person.id is None:
            raise NotFoundError(f"no person {employee_id!r}", field="employee_id")
        return Subject(names=(*names_of(uow, person), *extra), person_id=person.id)

    def context(
        self,
        subject: Subject,
        *,
        reused: Callable[[str], bool] | None = None,
    ) -> PasswordContext:
        return PasswordContext(
            rules=self.rules,
            names=subject.names,
            company=(self.company,),
            blocklist=self.blocklist(),
            reused=reused,
        )

    def history_test(
        self, uow: UnitOfWork, person_id: int, system_key: str
    ) -> Callable[[str], bool]:
        """Whether a password matches one of the person's last N there."""
        hashes = [
            e.password_hash
            for e in uow.password_history.recent(
                person_id, system_key, self.rules.history
            )
        ]

        def reused(password: str) -> bool:
            return any(verify_secret(password, h) for h in hashes)

        return reused

    def remember(
        self, uow: UnitOfWork, person_id: int, system_key: str, password: str
    ) -> int:
        """Keep the argon2 hash of a new password; forget the older ones
        beyond the policy's ``history``. Returns the entry's id."""
        entry = PasswordHistoryEntry(
            person_id=person_id,
            system_key=system_key,
            password_hash=hash_secret(password),
            created_at=uow.clock.now(),
        )
        uow.password_history.add(entry)
        uow.flush()
        uow.password_history.keep_newest(
            person_id, system_key, max(self.rules.history, 1)
        )
        return entry.id or 0


def names_of(uow: UnitOfWork, person: Person) -> tuple[str, ...]:
    """The person's names and every user name they hold (zxcvbn context)."""
    usernames = (
        tuple(a.username for a in uow.accounts.for_person(person.id))
        if person.id is not None
        else ()
    )
    mailbox = person.email.split("@", 1)[0]
    return (person.given_name, person.family_name, mailbox, *usernames)
