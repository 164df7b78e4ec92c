"""Mail: an SMTP ``Mailer`` (smtplib) and the template renderer.

``SmtpMailer`` speaks SMTP with STARTTLS (default, port 587) or implicit TLS
(``ssl``, port 465), verifying the server's certificate and host name
(8.24); plain SMTP only to a loopback relay (the settings refuse it
elsewhere). It logs in when a user name is set; the password comes from
``IAM_SMTP_PASSWORD`` and is never logged. Failures become ``MailError``:
retryable for 4xx replies, timeouts and dropped connections, permanent for
5xx refusals and certificate failures.

``TemplateRenderer`` renders ``<name>.<language>.txt`` from
``mail_templates/``: the first line is ``Subject: ...``, the rest the body.
Undefined variables are errors, so a template never silently says nothing.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from pathlib import Path
from typing import Any

import jinja2

from iam_service.domain.mail import MailEnvelope, MailError

TEMPLATES = Path(__file__).resolve().parent / "mail_templates"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # "starttls", "ssl" or "none" (loopback only)
    sender: str = "iam-service@example.test"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 10.0
    local_hostname: str | None = None

    def __repr__(self) -> str:  # the password never shows
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, "
            f"security={self.security!r}, username={self.username!r})"
        )


class SmtpMailer:
    """A ``Mailer`` over SMTP; one connection per message (mail is rare)."""

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        smtp_factory: Callable[[SmtpSettings], smtplib.SMTP] | None = None,
    ) -> None:
        if settings.security not in ("starttls", "ssl", "none"):
            raise ValueError(f"unknown SMTP security {settings.security!r}")
        self.settings = settings
        self._factory = smtp_factory or self._connect

    def send(self, envelope: MailEnvelope) -> None:
        message = self.build(envelope)
        try:
            with self._factory(self.settings) as smtp:
                self._secure(smtp)
                refused = smtp.send_message(
                    message,
                    from_addr=self.settings.sender,
                    to_addrs=list(envelope.recipients),
                )
        except smtplib.SMTPRecipientsRefused as error:
            raise _refused(error.recipients) from None
        except smtplib.SMTPResponseException as error:
            raise MailError(
                f"SMTP {error.smtp_code}: {_text(error.smtp_error)}",
                retryable=400 <= error.smtp_code < 500
                or isinstance(error, smtplib.SMTPAuthenticationError),
            ) from None
        except ssl.SSLCertVerificationError as error:
            raise MailError(
                f"the SMTP server's certificate was refused: {error.verify_message}",
                retryable=False,
            ) from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailError(
                f"SMTP server unreachable: {type(error).__name__}: {error}",
                retryable=True,
            ) from None
        if refused:  # some recipients took it, the others refused
            raise _refused(refused)

    def build(self, envelope: MailEnvelope) -> EmailMessage:
        message = EmailMessage(policy=SMTP)
        message["From"] = self.settings.sender
        message["To"] = ", ".join(envelope.recipients)
        message["Subject"] = envelope.subject
        message["Date"] = formatdate(usegmt=True)
        # Stable per outbox key: a message sent again is recognisably the same.
        digest = hashlib.sha256(envelope.key.encode()).hexdigest()[:32]
        domain = self.settings.sender.rpartition("@")[2] or "localhost"
        message["Message-ID"] = f"<{digest}@{domain}>"
        # set_content first: it clears every Content-* header set before it.
        message.set_content(envelope.body, charset="utf-8")
        message["Content-Language"] = envelope.language
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies
        for name, value in envelope.headers.items():
            message[name] = value
        return message

    # -- connection ---------------------------------------------------------
    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _connect(self, s: SmtpSettings) -> smtplib.SMTP:
        # gethostname, not getfqdn: no DNS lookup that could hang the job.
        name = s.local_hostname or socket.gethostname()
        if s.security == "ssl":
            return smtplib.SMTP_SSL(
                s.host,
                s.port,
                local_hostname=name,
                timeout=s.timeout,
                context=self._tls(),
            )
        return smtplib.SMTP(s.host, s.port, local_hostname=name, timeout=s.timeout)

    def _secure(self, smtp: smtplib.SMTP) -> None:
        smtp.ehlo()
        if self.settings.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise MailError(
                    "the SMTP server does not offer STARTTLS (8.24)", retryable=False
                )
            smtp.starttls(context=self._tls())
            smtp.ehlo()
        if self.settings.username:
            smtp.login(self.settings.username, self.settings.password or "")


def _refused(recipients: Mapping[str, tuple[int, bytes]]) -> MailError:
    codes = {code for code, _ in recipients.values()}
    detail = "; ".join(
        f"{address}: {code} {_text(reply)}"
        for address, (code, reply) in sorted(recipients.items())
    )
    return MailError(
        f"recipients refused: {detail}",
        retryable=all(400 <= code < 500 for code in codes),
    )


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


class TemplateRenderer:
    """Renders mail templates; ``render`` returns ``(subject, body)``."""

    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # noqa: S701 - plain-text mail, no HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(
        self, template: str, language: str, context: Mapping[str, Any]
    ) -> tuple[str, str]:
        text = self._env.get_template(f"{template}.{language}.txt").render(**context)
        first, _, rest = text.partition("\n")
        if not first.startswith("Subject:"):
            raise ValueError(f"{template}.{language}.txt must start with 'Subject:'")
        return first.removeprefix("Subject:").strip(), rest.lstrip("\n")
