"""Dummy demo data (8.33: demos use dummy data only).

``iamctl demo seed`` creates API tokens for every role, a local
administrator and a small organisation of fictitious people, then prints
how to use them. Names are invented; every address is ``example.test``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from iam_service.bootstrap import Container
from iam_service.domain.assets import AssetCreate
from iam_service.domain.hr import HrEvent
from iam_service.domain.password_rules import generate
from iam_service.domain.register import (
    Actor,
    CheckResult,
    Criterion,
    CriterionCheck,
    SystemUpdate,
)
from iam_service.domain.security import Role
from iam_service.services.errors import ServiceError

log = logging.getLogger(__name__)

PEOPLE: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    # employee id, given, family, department, title, manager
    ("D0001", "Haruka", "Aoki", "SALES", "Manager", None),
    ("D0002", "Kenta", "Baba", "SALES", "Staff", "D0001"),
    ("D0003", "Mio", "Chiba", "SALES", "Staff", "D0001"),
    ("D0004", "Sora", "Doi", "ENG", "Manager", None),
    ("D0005", "Riku", "Endo", "ENG", "Lead Engineer", "D0004"),
    ("D0006", "Yui", "Fujita", "ENG", "Engineer", "D0005"),
    ("D0007", "Daichi", "Goto", "FIN", "Manager", None),
    ("D0008", "Akari", "Hara", "FIN", "Clerk", "D0007"),
    ("D0009", "Takumi", "Inoue", "HR", "Manager", None),
    ("D0010", "Nanami", "Kudo", "IT", "System Administrator", None),
)


@dataclass(frozen=True)
class DemoCredentials:
    tokens: dict[str, str]
    admin_user: str
    admin_password: str


def seed(container: Container) -> DemoCredentials:
    """Create demo tokens, an administrator and the demo people."""
    tokens = {}
    for role in Role:
        name = f"demo-{role}"
        container.auth.revoke_token(name, actor="demo")
        name = f"{name}-{secrets.token_hex(2)}"
        tokens[str(role)] = container.auth.create_token(name, role, actor="demo")
    password = generate(container.passwords.checks.rules)  # 5.17
    admin = f"admin-{secrets.token_hex(2)}"
    container.auth.create_local_user(
        admin, password, [Role.SYSADMIN, Role.SECURITY_OFFICER], actor="demo"
    )
    approve_demo_systems(container)
    for employee_id, given, family, department, title, manager in PEOPLE:
        event = HrEvent.model_validate(
            {
                "event_id": f"demo-hire-{employee_id}",
                "type": "hire",
                "employee": {
                    "employee_id": employee_id,
                    "given_name": given,
                    "family_name": family,
                    "email": f"{given.lower()}.{family.lower()}@example.test",
                    "department": department,
                    "title": title,
                    "manager_employee_id": manager,
                },
            }
        )
        container.hr_intake.submit(event, actor="demo")
    seed_assets(container)
    return DemoCredentials(tokens=tokens, admin_user=admin, admin_password=password)


def seed_assets(container: Container) -> None:
    """A laptop and a security card per demo person, and three spare cards
    (5.9, 7.2); assets already registered are left as they are."""
    assets: list[dict[str, str]] = []
    for n, (employee_id, *_rest) in enumerate(PEOPLE, start=1):
        assets.append(
            {
                "asset_type": "laptop",
                "tag": f"PC-{n:04d}",
                "serial": f"DEMO-SN-{n:04d}",
                "description": "ThinkPad X1 Carbon",
                "holder_employee_id": employee_id,
            }
        )
        assets.append(
            {
                "asset_type": "security_card",
                "tag": f"CARD-{n:04d}",
                "card_number": f"7{n:04d}",
                "holder_employee_id": employee_id,
            }
        )
    for n in range(1, 4):
        assets.append(
            {
                "asset_type": "security_card",
                "tag": f"CARD-S{n:03d}",
                "card_number": f"8{n:04d}",
                "state": "spare",
            }
        )
    for body in assets:
        try:
            container.offboarding.assets.create(
                AssetCreate.model_validate(body), "demo"
            )
        except ServiceError:
            continue  # seeded before


def approve_demo_systems(container: Container) -> None:
    """Approve the demo's systems in the cloud-service register (5.23), so
    that the demo's connectors run; a real deployment's security officer
    decides for themselves. Both steps are audited under ``demo:`` actors."""
    met = CriterionCheck(result=CheckResult.MET, note="demo")
    details = SystemUpdate(
        information="dummy demo data (8.33)", criteria=dict.fromkeys(Criterion, met)
    )
    for record in container.register.systems():
        if record.state in ("requested", "suspended"):
            container.register.update(
                record.key, details, Actor("demo:sysadmin", frozenset({Role.SYSADMIN}))
            )
            try:
                container.register.approve(
                    record.key,
                    Actor("demo:security-officer", frozenset({Role.SECURITY_OFFICER})),
                    "demo: approved with dummy data only",
                )
            except ServiceError as error:  # e.g. no purpose in the file
                log.warning("demo: %s stays unapproved: %s", record.key, error.message)
