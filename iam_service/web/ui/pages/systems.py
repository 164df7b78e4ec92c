"""The cloud-service register (5.23) and its approvals: system
administrators see the connectors and their state; the security officer
approves or rejects requested systems with a comment (5.3: never one they
requested or assessed)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from iam_service.bootstrap import Container
from iam_service.domain.register import Actor
from iam_service.domain.security import Role
from iam_service.web.ui.guard import ConsoleUser, allow
from iam_service.web.ui.nav import HomeSection, NavEntry
from iam_service.web.ui.rendering import render, see_other

router = APIRouter(prefix="/console/systems", include_in_schema=False)
READERS = (Role.SYSADMIN, Role.SECURITY_OFFICER, Role.AUDITOR)
Reader = Annotated[ConsoleUser, Depends(allow(*READERS))]
Officer = Annotated[ConsoleUser, Depends(allow(Role.SECURITY_OFFICER))]
NAV = [NavEntry("systems", "/console/systems", "nav.systems", roles=READERS, order=30)]


def _register(c: Container, _user: ConsoleUser) -> dict[str, Any]:
    systems = c.register.systems()
    states: dict[str, int] = {}
    for system in systems:
        states[system.state] = states.get(system.state, 0) + 1
    requested = [s for s in systems if s.state == "requested"]
    return {"states": states, "requested": requested, "total": len(systems)}


SECTIONS = [
    HomeSection(
        "sysadmin.connectors",
        Role.SYSADMIN,
        "home.connectors",
        "systems/_home.html",
        _register,
        30,
    ),
    HomeSection(
        "security_officer.register",
        Role.SECURITY_OFFICER,
        "home.register",
        "systems/_approvals.html",
        _register,
        30,
    ),
]


@router.get("")
def systems(request: Request, user: Reader) -> HTMLResponse:
    c: Container = request.app.state.container
    return render(
        request,
        "systems/list.html",
        {
            "systems": c.register.systems(),
            "can_decide": user.has(Role.SECURITY_OFFICER),
        },
        nav="systems",
    )


@router.post("/{key}/{decision}")
async def decide(
    request: Request,
    key: str,
    decision: str,
    user: Officer,
    comment: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    c: Container = request.app.state.container
    actions = {
        "approve": c.register.approve,
        "reject": c.register.reject,
        "suspend": c.register.suspend,
    }
    action = actions.get(decision)
    if action is None:
        return render(request, "error.html", {"status": 404}, status_code=404)
    await run_in_threadpool(action, key, Actor(user.actor, user.roles), comment)
    return see_other("/console/systems", notice=f"notice.system_{decision}d")
