"""Time-based one-time passwords (RFC 6238) for break-glass accounts.

Six digits, 30-second steps, SHA-1 (what every authenticator app reads from
an ``otpauth://`` URI). A code is accepted one step early or late (clock
drift) and never twice: the step it matched is kept, and only a later step
is accepted afterwards (replay protection).
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

WINDOW = 1  # steps either side of now


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def matching_step(
    secret: str, code: str, at: datetime, *, after: int | None = None
) -> int | None:
    """The time step ``code`` belongs to near ``at``, if it is later than
    ``after`` (the last step accepted); None when the code is refused."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(at)
    for step in range(now_step - WINDOW, now_step + WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at ``at`` (tests, enrolment checks)."""
    return str(pyotp.TOTP(secret).at(at))
