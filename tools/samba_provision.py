"""Provisioning the test domain: samba-tool, our options, our password rules.

The domain and its admin password are dummies for a loopback-only DC (8.33).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tools.tls import Pki

REALM = "CORP.EXAMPLE.TEST"
DOMAIN = "CORP"
BASE_DN = "DC=corp,DC=example,DC=test"
ADMIN_PASSWORD = "Dummy-Adm1n-Passw0rd"  # noqa: S105 - a dummy (8.33)
MIN_PASSWORD_LENGTH = 8  # 5.17 / 8.5: at least 8 characters
# Bump when the options below change: domains provisioned before are redone.
PROVISION_VERSION = "3"


class SambaError(RuntimeError):
    """The DC could not be provisioned, started or stopped; the message says why."""


def is_provisioned(domain: Path) -> bool:
    """Fully provisioned, with the options of this version of the tool."""
    marker = domain / ".provisioned"
    return marker.exists() and marker.read_text() == PROVISION_VERSION


def provision(domain: Path, state: Path, pki: Pki, interfaces: str = "lo") -> None:
    """Provision the domain into ``domain`` (wiping a half-done one), with its
    pid files under ``state/run`` and its log at ``state/samba.log``.
    ``interfaces``: what it listens on (a second DC: one loopback address)."""
    shutil.rmtree(domain, ignore_errors=True)
    domain.mkdir(parents=True)
    # An empty config, so the host's /etc/samba/smb.conf does not leak in.
    (domain / "provision.conf").touch()
    options = {
        "interfaces": interfaces,
        "bind interfaces only": "yes",
        # LDAP only: no SMB, DNS or Kerberos ports; ready in half a second.
        "server services": "ldap",
        "tls enabled": "yes",
        "tls keyfile": str(pki.server_key),
        "tls certfile": str(pki.server_cert),
        "tls cafile": str(pki.ca_cert),
        "pid directory": str(state / "run"),
        "log file": str(state / "samba.log"),
    }
    _run_tool(
        "domain", "provision", f"--configfile={domain / 'provision.conf'}",
        f"--realm={REALM}", f"--domain={DOMAIN}", "--server-role=dc",
        "--dns-backend=NONE", "--use-rfc2307", "--host-name=iamdc",
        f"--targetdir={domain}", f"--adminpass={ADMIN_PASSWORD}",
        *(f"--option={name}={value}" for name, value in options.items()),
    )  # fmt: skip
    _lock_out_old_passwords(domain / "etc" / "smb.conf")
    # The organisation's password rule (5.17): 8+ characters, several kinds;
    # Samba's default minimum is 7. No minimum age, so tests may reset freely.
    _run_tool(
        "domain", "passwordsettings", "set", f"--configfile={domain / 'etc/smb.conf'}",
        f"-H{domain / 'private/sam.ldb'}", f"--min-pwd-length={MIN_PASSWORD_LENGTH}",
        "--min-pwd-age=0", "--complexity=on",
    )  # fmt: skip
    (domain / ".provisioned").write_text(PROVISION_VERSION)


def _lock_out_old_passwords(conf: Path) -> None:
    # Samba accepts the previous password for 60 minutes after a reset (as AD
    # does for NTLM); a reset must make the old one unusable at once (5.16).
    # provision drops this option from --option, so it goes in by hand.
    setting = "\told password allowed period = 0\n"
    conf.write_text(conf.read_text().replace("[global]\n", "[global]\n" + setting, 1))


def _run_tool(*args: str) -> None:
    tool = shutil.which("samba-tool") or "samba-tool"
    # A fixed argv, no shell. The admin password shows in `ps` for the few
    # seconds this takes; it is a dummy on a loopback-only DC (8.33).
    done = subprocess.run(  # noqa: S603
        [tool, *args], capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise SambaError(
            f"samba-tool {args[0]} {args[1]} failed:\n{done.stderr[-2000:]}"
        )
