"""Sign-in through Entra ID, and who the signed-in user is here (ADR 0013).

The flow (state, nonce, PKCE verifier) waits server-side, encrypted, for ten
minutes; the browser holds only a random handle to it, so a callback from a
browser that did not start the sign-in finds nothing (login CSRF).

An Entra user is one of our people when, in this order:

1. their object id (``oid``) is the native id of the person's account in the
   Entra system we provision (``IAM_SSO_ENTRA_SYSTEM``): immutable, ours;
2. the ``employeeId`` claim (``IAM_SSO_EMPLOYEE_ID_CLAIM``) is their
   employee id;
3. their user principal name (``preferred_username``) is their e-mail.

The ``email`` claim is never used: any user can set it (the "nOAuth" flaw).
Only active people sign in; their roles are read on every request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from iam_service.domain.console import (
    OidcError,
    SessionKind,
    SessionLimits,
    SignInAttempt,
    SignInFlow,
)
from iam_service.domain.model import Person, PersonStatus
from iam_service.services.console_sessions import (
    Client,
    SignedIn,
    open_session,
    token_hash,
)
from iam_service.services.local_sign_in import (
    Guard,
    SignInRefused,
    note_failure,
    throttle,
)
from iam_service.services.secret_box import SecretBox, SecretUnreadable
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory

FLOW_MINUTES = 10


class OidcClient(Protocol):
    """What the sign-in needs from an OpenID Connect provider."""

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """The authorisation URL, and the flow to keep until the callback."""
        ...

    def complete(
        self, flow: dict[str, Any], response: dict[str, str]
    ) -> dict[str, Any]:
        """The validated ID token claims; raises ``OidcError``."""
        ...


class SsoSignIn:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        oidc: Callable[[], OidcClient],
        box: SecretBox,
        limits: SessionLimits,
        guard: Guard,
        *,
        employee_id_claim: str = "employeeId",
        entra_system: str = "entra",
    ) -> None:
        self.uow_factory = uow_factory
        self.oidc = oidc
        self.box = box
        self.limits = limits
        self.guard = guard
        self.employee_id_claim = employee_id_claim
        self.entra_system = entra_system

    def begin(self, redirect_uri: str) -> tuple[str, str]:
        """Start a sign-in: (URL to send the browser to, handle for its cookie)."""
        auth_uri, flow = self.oidc().begin(redirect_uri)
        handle = secrets.token_urlsafe(32)
        with self.uow_factory() as uow:
            now = uow.clock.now()
            uow.sign_in_flows.prune(now)
            uow.sign_in_flows.add(
                SignInFlow(
                    token_hash=token_hash(handle),
                    kind="sso",
                    data_encrypted=self.box.seal(json.dumps(flow)),
                    created_at=now,
                    expires_at=now + timedelta(minutes=FLOW_MINUTES),
                )
            )
            uow.commit()
        return auth_uri, handle

    def complete(
        self,
        handle: str,
        response: dict[str, str],
        client: Client,
        *,
        replaces: str | None = None,
    ) -> str:
        """Finish the sign-in; returns the new session's cookie token."""
        with self.uow_factory() as uow:
            throttle(uow, self.guard, client, "sso")
            flow = self._flow(uow, handle)
            try:
                claims = self.oidc().complete(flow, response)
            except OidcError as error:
                note_failure(uow, client, "sso", "provider")
                uow.commit()
                raise SignInRefused(str(error)) from None
            account = f"sso:{claims.get('oid') or claims.get('sub')}"
            person = self.find_person(uow, claims)
            if person is None or person.status is not PersonStatus.ACTIVE:
                note_failure(uow, client, account, "no_active_person")
                uow.commit()
                raise SignInRefused(
                    "your Entra ID account is not an active person here; "
                    "ask HR or the security officer"
                )
            uow.sign_in_attempts.add(
                SignInAttempt(
                    at=uow.clock.now(),
                    client_address=client.address[:64],
                    account=account[:200],
                    succeeded=True,
                )
            )
            who = SignedIn(
                kind=SessionKind.SSO,
                subject=person.employee_id,
                display_name=f"{person.family_name} {person.given_name}",
                employee_id=person.employee_id,
            )
            token = open_session(uow, who, client, self.limits, replaces=replaces)
            uow.commit()
            return token

    def find_person(self, uow: UnitOfWork, claims: dict[str, Any]) -> Person | None:
        oid = str(claims.get("oid") or "")
        if oid:
            account = uow.accounts.by_native_id(self.entra_system, oid)
            if account is not None:
                return uow.persons.get(account.person_id)
        employee_id = str(claims.get(self.employee_id_claim) or "")
        if employee_id:
            person = uow.persons.by_employee_id(employee_id)
            if person is not None:
                return person
        upn = str(claims.get("preferred_username") or claims.get("upn") or "")
        return uow.persons.by_email(upn) if "@" in upn else None

    def _flow(self, uow: UnitOfWork, handle: str) -> dict[str, Any]:
        found = uow.sign_in_flows.by_token_hash(token_hash(handle)) if handle else None
        now = uow.clock.now()
        if found is None or found.kind != "sso" or not found.usable(now):
            raise SignInRefused("this sign-in has expired or was not started here")
        found.used_at = now  # a flow is redeemed once
        try:
            flow: dict[str, Any] = json.loads(self.box.open(found.data_encrypted))
        except SecretUnreadable:
            raise SignInRefused("this sign-in cannot be read; start again") from None
        return flow
