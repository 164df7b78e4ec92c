"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

``smtp_server``: plain SMTP (allowed to loopback only, 8.24), emptied for
each test. ``smtp_tls_server``: STARTTLS required, AUTH LOGIN/PLAIN with a
dummy account, certificate from the test PKI. ``smtp_ssl_server``: implicit
TLS (port 465 style). Each has ``messages`` (``CapturedMail``: the envelope
and the parsed message) and ``settings()`` giving an ``SmtpSettings`` for
``adapters.mail.SmtpMailer`` pointed at it.

``reject_next(code, text)`` makes the server refuse the next RCPT TO with
that reply (a 450 mailbox busy, a 550 no such user).
"""

from __future__ import annotations

import email
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from iam_service.adapters.mail import SmtpSettings
from tools.tls import Pki, ensure_test_pki

SMTP_USER, SMTP_PASSWORD = "iam-mailer", "dummy-smtp-password-8.33"


@dataclass(frozen=True)
class CapturedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # A folded header keeps the space after the fold; mail clients drop it.
        return str(self.message["Subject"]).strip()

    @property
    def body(self) -> str:
        """The text part, with the wire's CRLF line ends as ``\n``."""
        part = self.message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""  # type: ignore[union-attr]
        return str(text).replace("\r\n", "\n")


@dataclass
class _Handler:
    messages: list[CapturedMail] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            if self.rejections:
                return self.rejections.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=default)
        with self.lock:
            self.messages.append(
                CapturedMail(
                    envelope.mail_from,
                    tuple(envelope.rcpt_tos),
                    parsed,  # type: ignore[arg-type]
                )
            )
        return "250 Message accepted"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == SMTP_USER
        and auth_data.password.decode() == SMTP_PASSWORD
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    """One aiosmtpd server on 127.0.0.1 and what it received."""

    def __init__(self, security: str, pki: Pki | None = None) -> None:
        self.security = security
        self.pki = pki
        self.port = free_port()
        self._handler = _Handler()
        options: dict[str, Any] = {}
        context = None
        if pki is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(pki.server_cert, pki.server_key)
        if security == "starttls":
            options = {
                "tls_context": context,
                "require_starttls": True,
                "authenticator": _authenticate,
                "auth_require_tls": True,
            }
        elif security == "ssl":
            options = {"ssl_context": context}
        self._options = options
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[CapturedMail]:
        with self._handler.lock:
            return list(self._handler.messages)

    def reject_next(self, code: int, text: str) -> None:
        with self._handler.lock:
            self._handler.rejections.append(f"{code} {text}")

    def clear(self) -> None:
        with self._handler.lock:
            self._handler.messages.clear()
            self._handler.rejections.clear()

    def service_settings(self) -> dict[str, Any]:
        """The service's ``Settings`` fields that send its mail here."""
        return {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": self.security,
        }

    def settings(self, **overrides: Any) -> SmtpSettings:
        base = SmtpSettings(
            host="127.0.0.1",
            port=self.port,
            security=self.security,
            sender="iam-service@example.test",
            username=SMTP_USER if self.security == "starttls" else None,
            password=SMTP_PASSWORD if self.security == "starttls" else None,
            ca_file=str(self.pki.ca_cert) if self.pki else None,
            timeout=5.0,
            local_hostname="iam.example.test",
        )
        return replace(base, **overrides)

    def start(self) -> None:
        # Built here, not in __init__: a Controller owns an event loop.
        self._controller = Controller(
            self._handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            **self._options,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


def _serve(server: SmtpServer) -> Iterator[SmtpServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return ensure_test_pki(tmp_path_factory.mktemp("smtp-pki"))


@pytest.fixture(scope="session")
def _smtp_plain() -> Iterator[SmtpServer]:
    yield from _serve(SmtpServer("none"))


@pytest.fixture(scope="session")
def _smtp_starttls(smtp_pki: Pki) -> Iterator[SmtpServer]:
    yield from _serve(SmtpServer("starttls", smtp_pki))


@pytest.fixture(scope="session")
def _smtp_ssl(smtp_pki: Pki) -> Iterator[SmtpServer]:
    yield from _serve(SmtpServer("ssl", smtp_pki))


@pytest.fixture
def smtp_server(_smtp_plain: SmtpServer) -> SmtpServer:
    """Plain SMTP on loopback, emptied for this test."""
    _smtp_plain.clear()
    return _smtp_plain


@pytest.fixture
def smtp_tls_server(_smtp_starttls: SmtpServer) -> SmtpServer:
    """STARTTLS required, with AUTH (dummy account), emptied for this test."""
    _smtp_starttls.clear()
    return _smtp_starttls


@pytest.fixture
def smtp_ssl_server(_smtp_ssl: SmtpServer) -> SmtpServer:
    """Implicit TLS, emptied for this test."""
    _smtp_ssl.clear()
    return _smtp_ssl
