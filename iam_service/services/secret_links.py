"""One-time links: a rotated password shown once to its recipient (5.17, 5.18).

The recipient (the successor, or whoever a rotation names) asks for a link
to one rotation on their handover page; the link holds a random 256-bit
token of which only the SHA-256 is stored, and expires after
``link_minutes``. Opening it needs a console session signed in within the
last ``reauth_minutes`` (the sign-in page's ``reauth=1`` starts a fresh
sign-in); anyone but the recipient is refused. Revealing shows the
password, records who saw it when (never what), and destroys it in the
secret store; the link, and any later one, then answers 410 Gone.

For a manual system (no API) the password is generated when the link is
issued, and the recipient sets it on the device and confirms. Until they
confirm they may ask again: each new link carries a new password.
"""

from __future__ import annotations

import hashlib
import secrets as random_tokens
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from connectors.base import Secret
from iam_service.domain.policy import Policy
from iam_service.domain.privileged import (
    HandoverStatus,
    Rotation,
    RotationKind,
    RotationState,
)
from iam_service.services.auth import Principal
from iam_service.services.errors import ConflictError, Forbidden, NotFoundError
from iam_service.services.handover import tick_off_case_items
from iam_service.services.privileged_inventory import require_account, target
from iam_service.services.rotation_step import new_password
from iam_service.services.rotation_views import finished, rotation_state, rotation_view
from iam_service.services.secret_vault import (
    Gone,
    ReauthenticationRequired,
    SecretStore,
)
from iam_service.services.unit_of_work import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class LinkSettings:
    link_minutes: float = 15.0  # IAM_SECRET_LINK_MINUTES
    reauth_minutes: float = 5.0  # IAM_SECRET_REAUTH_MINUTES


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SecretLinks:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        store: SecretStore,
        policy: Callable[[], Policy],
        settings: LinkSettings,
    ) -> None:
        self.uow_factory = uow_factory
        self.store = store
        self.policy = policy
        self.settings = settings

    def issue(self, rotation_id: int, who: Principal) -> str:
        """A new one-time link token for ``rotation_id`` (the previous link,
        if any, stops working). Only its recipient may ask."""
        with self.uow_factory() as uow:
            rotation = self._issuable(uow, rotation_id, who)
            manual, ref = rotation.kind is RotationKind.MANUAL, rotation.secret_ref
        if manual:
            # Sealed before the link exists (each link, a new password), and
            # outside any transaction: the store may be this same database.
            self.store.put(ref, new_password(self.policy().passwords))
        with self.uow_factory() as uow:
            rotation = self._issuable(uow, rotation_id, who)
            token = random_tokens.token_urlsafe(32)
            expires = uow.clock.now() + timedelta(minutes=self.settings.link_minutes)
            rotation.link_token_hash, rotation.link_expires_at = _hash(token), expires
            uow.record(
                who.actor,
                "privileged.link_issued",
                _rotation_target(uow, rotation),
                after={"rotation": rotation.id, "expires_at": expires.isoformat()},
            )
            uow.commit()
            return token

    def open(
        self, token: str, who: Principal, session_id: int | None
    ) -> dict[str, Any]:
        """What the link is for, if ``who`` may reveal it now; raises
        ``Gone``, ``Forbidden`` or ``ReauthenticationRequired``."""
        with self.uow_factory() as uow:
            rotation = self._usable(uow, token, who, session_id)
            return rotation_view(uow, rotation)

    def reveal(
        self, token: str, who: Principal, session_id: int | None
    ) -> tuple[dict[str, Any], Secret]:
        """Show the password once: it is read, the link is spent and the
        secret destroyed. Nothing of the value is recorded."""
        with self.uow_factory() as uow:
            ref = self._usable(uow, token, who, session_id).secret_ref
        secret = self.store.get(ref)  # outside a transaction: see ``issue``
        if secret is None:
            raise Gone("this password is no longer held")
        with self.uow_factory() as uow:
            # Again, under a lock: of two clicks at once only one shows it.
            rotation = self._usable(uow, token, who, session_id, lock=True)
            rotation.shown_at = uow.clock.now()
            rotation.link_token_hash = rotation.link_expires_at = None
            uow.record(
                who.actor,
                "privileged.secret_shown",
                _rotation_target(uow, rotation),
                after={"rotation": rotation.id, "to": who.employee_id},
                reason="one-time link (5.17: shown once, then destroyed)",
            )
            _close_if_done(uow, rotation)
            uow.commit()
            view = rotation_view(uow, rotation)
        self.store.destroy(ref)
        return view, secret

    def confirm(self, rotation_id: int, who: Principal) -> dict[str, Any]:
        """A manual rotation: the recipient set the shown password on the
        device."""
        with self.uow_factory() as uow:
            rotation = self._rotation(uow, rotation_id)
            self._recipient(rotation, who)
            if rotation.kind is not RotationKind.MANUAL:
                raise ConflictError("only a manual rotation is confirmed by hand")
            if rotation.shown_at is None:
                raise ConflictError("open the one-time link and set the password first")
            if rotation.confirmed_at is None:
                rotation.confirmed_at, rotation.confirmed_by = (
                    uow.clock.now(),
                    who.actor,
                )
                uow.record(
                    who.actor,
                    "privileged.rotation_confirmed",
                    _rotation_target(uow, rotation),
                    after={"rotation": rotation.id},
                )
                _close_if_done(uow, rotation)
                uow.commit()
            return rotation_view(uow, rotation)

    # -- helpers -------------------------------------------------------------

    def _issuable(self, uow: UnitOfWork, rotation_id: int, who: Principal) -> Rotation:
        rotation = self._rotation(uow, rotation_id)
        self._recipient(rotation, who)
        state = rotation_state(uow, rotation)
        automatic = rotation.kind is RotationKind.AUTOMATIC
        if automatic and state != RotationState.VERIFIED:
            if finished(state):
                raise Gone(f"the password of rotation {rotation_id} is gone ({state})")
            raise ConflictError(
                f"rotation {rotation_id} is {state}: nothing to show yet"
            )
        if state == RotationState.DONE:
            raise Gone(f"rotation {rotation_id} is confirmed done")
        return rotation

    def _usable(
        self,
        uow: UnitOfWork,
        token: str,
        who: Principal,
        session_id: int | None,
        *,
        lock: bool = False,
    ) -> Rotation:
        rotation = uow.handovers.by_link(_hash(token), lock=lock)
        now = uow.clock.now()
        if rotation is None or rotation.link_expires_at is None:
            raise Gone("this link was used, replaced, or never existed")
        if now >= rotation.link_expires_at:
            raise Gone("this link has expired; ask for a new one on the handover page")
        self._recipient(rotation, who)
        signed_in = (
            uow.privileged.session_signed_in_at(session_id) if session_id else None
        )
        window = timedelta(minutes=self.settings.reauth_minutes)
        if signed_in is None or now - signed_in > window:
            raise ReauthenticationRequired(
                "sign in again to see this password "
                f"(a sign-in within the last {self.settings.reauth_minutes:g} minutes)"
            )
        return rotation

    @staticmethod
    def _rotation(uow: UnitOfWork, rotation_id: int) -> Rotation:
        rotation = uow.handovers.rotation(rotation_id)
        if rotation is None:
            raise NotFoundError(f"no rotation {rotation_id}")
        return rotation

    @staticmethod
    def _recipient(rotation: Rotation, who: Principal) -> None:
        if who.employee_id is None or who.employee_id != rotation.recipient_employee_id:
            raise Forbidden("only the recipient named for this rotation may see it")


def _rotation_target(uow: UnitOfWork, rotation: Rotation) -> str:
    return target(require_account(uow, rotation.account_id))


def _close_if_done(uow: UnitOfWork, rotation: Rotation) -> None:
    """A handover is done when every rotation in it is shown or confirmed."""
    if rotation.handover_id is None:
        return
    handover = uow.handovers.get(rotation.handover_id)
    if handover is None or handover.status is HandoverStatus.DONE:
        return
    uow.flush()
    states = [rotation_state(uow, r) for r in uow.handovers.rotations(handover.id or 0)]
    if all(finished(s) for s in states):
        handover.status, handover.finished_at = HandoverStatus.DONE, uow.clock.now()
        tick_off_case_items(uow, handover)
        uow.record(
            "system",
            "privileged.handover_done",
            f"handover:{handover.id}",
            after={"rotations": len(states)},
        )
