"""Who may open a console page: ``Depends(allow(Role.X, ...))``.

``viewer`` gives the signed-in ``ConsoleUser`` or sends the browser to the
sign-in page (and back afterwards); ``allow(*roles)`` also answers 403 with
a page in the user's language unless they hold one of ``roles``. CSRF needs
nothing here: the session middleware has checked it before the route runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

from iam_service.domain.console import SessionKind
from iam_service.domain.security import Role
from iam_service.services.auth import Principal
from iam_service.web.ui.session import ConsoleRequest


class SignInRequired(HTTPException):
    """Handled by a redirect to the sign-in page."""

    def __init__(self, next_path: str, notice: str | None = None) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, "sign in first")
        self.next_path = next_path
        self.notice = notice

    @property
    def location(self) -> str:
        where = f"/console/sign-in?next={quote(self.next_path, safe='/')}"
        return where + (f"&notice={self.notice}" if self.notice else "")


class NotAllowed(HTTPException):
    """Handled by a 403 page naming the roles that may."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        super().__init__(status.HTTP_403_FORBIDDEN, "not allowed")
        self.roles = roles


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in person (or break-glass account) of this request."""

    principal: Principal  # the same principal the API routes receive
    display_name: str
    active_role: Role | None  # the role whose home and navigation are shown
    session_id: int
    kind: SessionKind

    @property
    def roles(self) -> frozenset[Role]:
        return self.principal.roles

    @property
    def employee_id(self) -> str | None:
        return self.principal.employee_id

    @property
    def actor(self) -> str:
        return self.principal.actor

    def has(self, *roles: Role) -> bool:
        return self.principal.has(*roles)


def console_request(request: Request) -> ConsoleRequest:
    found: ConsoleRequest = request.state.console
    return found


def viewer(request: Request) -> ConsoleUser:
    console = console_request(request)
    if console.session is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path, "notice.session_ended" if console.lost else None)
    s = console.session
    return ConsoleUser(s.principal, s.display_name, s.active_role, s.id, s.kind)


def allow(*roles: Role) -> Callable[[ConsoleUser], ConsoleUser]:
    """A dependency admitting people who hold one of ``roles`` (anyone signed
    in when none is given). A person's every role counts, not only the one
    they are viewing the console as."""

    def check(user: Annotated[ConsoleUser, Depends(viewer)]) -> ConsoleUser:
        if roles and not user.has(*roles):
            raise NotAllowed(roles)
        return user

    return check


Viewer = Annotated[ConsoleUser, Depends(viewer)]
