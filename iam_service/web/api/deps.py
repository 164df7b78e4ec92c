"""Request dependencies: the container and the calling principal."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from iam_service.bootstrap import Container
from iam_service.domain.security import Role
from iam_service.services.auth import Principal


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


ContainerDep = Annotated[Container, Depends(container)]


def _unauthorised(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=message,
        headers={"WWW-Authenticate": 'Bearer realm="iam"'},
    )


def principal(request: Request, c: ContainerDep) -> Principal:
    """A bearer API token, or HTTP Basic for a local administrator."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    found: Principal | None = None
    if scheme.lower() == "bearer" and credentials:
        found = c.auth.authenticate_token(credentials.strip())
    elif scheme.lower() == "basic" and credentials:
        try:
            user, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _unauthorised("malformed Basic credentials") from None
        found = c.auth.authenticate_local(user, password)
    session_principal = getattr(request.state, "principal", None)
    if found is None and isinstance(session_principal, Principal):
        found = session_principal
    if found is None:
        raise _unauthorised("a valid bearer token is required")
    return found


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that admits only callers holding one of ``roles``."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.has(*roles):
            wanted = ", ".join(str(r) for r in roles)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs one of the roles: {wanted}",
            )
        return who

    return check
