"""A local Samba AD domain controller on loopback, for tests and the demo.

    python -m tools.samba_dc start|stop|status [--dir DIR] [--address IP]

DIR (``$IAM_SAMBA_DIR``, else ``/var/tmp/iam-samba``) holds everything::

    tls/        the throwaway CA and the server certificate LDAPS presents
    domain/     the provisioned domain (wiped and redone if half-provisioned)
    run/        samba.pid, and the leases of test sessions using the DC
    samba.log   Samba's log

A second DC (the 100,000-account benchmark's, say) gets its own DIR and
``--address``: another loopback address such as 127.0.0.2, which must exist
on ``lo`` under a label of its own (``ip addr add 127.0.0.2/8 dev lo label
lo:bench``) so that the first DC, listening on ``lo``, never takes it too.

The domain, its admin password and every account in it are dummy data (8.33).
Samba must run as root. Only the LDAP service runs (no SMB, DNS or Kerberos):
fewer ports, and ready about half a second after launch. To fill it, see
``tools.samba_directory`` (``ensure_layout``, ``ensure_ous``, ``ensure_groups``).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tools import samba_directory, samba_provision

# Re-exported: the facts of the test domain, and its error.
from tools.samba_provision import ADMIN_PASSWORD as ADMIN_PASSWORD
from tools.samba_provision import BASE_DN as BASE_DN
from tools.samba_provision import DOMAIN as DOMAIN
from tools.samba_provision import REALM as REALM
from tools.samba_provision import SambaError as SambaError
from tools.tls import Pki, ensure_test_pki

ADMIN_USER = "Administrator@corp.example.test"
ADDRESS = "127.0.0.1"
URL = f"ldaps://{ADDRESS}:636"
DEFAULT_DIR = Path("/var/tmp/iam-samba")  # noqa: S108 - survives reboots of /tmp
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


class SambaNotInstalled(SambaError):
    """The samba binaries are missing."""


@dataclass(frozen=True)
class DomainController:
    """How to reach the DC. ``started_here`` says whether this call started it."""

    url: str
    base_dn: str
    admin_user: str
    admin_password: str
    ca_file: Path
    realm: str
    directory: Path
    started_here: bool


def default_directory() -> Path:
    return Path(os.environ.get("IAM_SAMBA_DIR") or DEFAULT_DIR)


def start(directory: Path, address: str = ADDRESS) -> DomainController:
    """Start the DC (provisioning it first if needed), or reuse a running one.

    A DC started here from the command line is never stopped by test sessions.
    ``address``: the loopback address it listens on (see the module notes).
    """
    with _locked(directory):
        dc = _start_locked(directory, address)
        if dc.started_here:
            _auto_stop_marker(directory).unlink(missing_ok=True)
        return dc


def acquire(directory: Path) -> DomainController:
    """``start`` for a test session: records a lease for this process, and
    marks a DC it had to start for stopping when the last lease is released."""
    with _locked(directory):
        dc = _start_locked(directory)
        if dc.started_here:
            _auto_stop_marker(directory).touch()
        _lease(directory, os.getpid()).touch()
        return dc


def release(directory: Path) -> bool:
    """Drop this process's lease. Stop the DC if a test session started it and
    no live session still uses it (another pytest may be running). True if
    the DC was stopped."""
    with _locked(directory):
        _lease(directory, os.getpid()).unlink(missing_ok=True)
        for lease in _lease(directory, 0).parent.glob("*.lease"):
            if _running(int(lease.stem)):
                return False
            lease.unlink()  # a session that died without releasing
        if not _auto_stop_marker(directory).exists():
            return False
        _auto_stop_marker(directory).unlink()
        return _stop_locked(directory)


def stop(directory: Path) -> bool:
    """Stop the DC we started from ``directory``; True if one was running."""
    with _locked(directory):
        return _stop_locked(directory)


def status(directory: Path, address: str = ADDRESS) -> str:
    pid = _our_pid(directory)
    pki = ensure_test_pki(directory / "tls", address)
    url = _url(address)
    answer = samba_directory.probe(url, ADMIN_USER, ADMIN_PASSWORD, str(pki.ca_cert))
    started = f"started from {directory} (pid {pid})" if pid else "not started by us"
    return f"LDAPS on {url}: {answer}; samba {started}"


def _url(address: str) -> str:
    return f"ldaps://{address}:636"


# -- start and stop ----------------------------------------------------------


def _start_locked(directory: Path, address: str = ADDRESS) -> DomainController:
    for tool in ("samba", "samba-tool"):
        if shutil.which(tool) is None:
            raise SambaNotInstalled(
                f"{tool} not found: install the Debian packages samba samba-ad-dc "
                "samba-ad-provision winbind krb5-user ldb-tools"
            )
    pki = ensure_test_pki(directory / "tls", address)
    url = _url(address)
    answer = samba_directory.probe(url, ADMIN_USER, ADMIN_PASSWORD, str(pki.ca_cert))
    if answer == samba_directory.READY:
        return _facts(directory, pki, started_here=False, address=address)
    if answer != samba_directory.NOT_LISTENING and _our_pid(directory) is None:
        raise SambaError(
            f"something else answers on {url} ({answer}); stop it or use its --dir"
        )
    if _our_pid(directory) is None:
        if os.geteuid() != 0:
            raise SambaError("a Samba AD DC must be provisioned and started as root")
        if not samba_provision.is_provisioned(directory / "domain"):
            interfaces = "lo" if address == ADDRESS else address
            samba_provision.provision(directory / "domain", directory, pki, interfaces)
        _launch(directory)
    _wait_until_ready(directory, pki, url)
    return _facts(directory, pki, started_here=True, address=address)


def _facts(
    directory: Path, pki: Pki, *, started_here: bool, address: str = ADDRESS
) -> DomainController:
    return DomainController(
        url=_url(address),
        base_dn=BASE_DN,
        admin_user=ADMIN_USER,
        admin_password=ADMIN_PASSWORD,
        ca_file=pki.ca_cert,
        realm=REALM,
        directory=directory,
        started_here=started_here,
    )


def _launch(directory: Path) -> None:
    (directory / "run").mkdir(parents=True, exist_ok=True)
    samba = shutil.which("samba") or "samba"
    conf = directory / "domain" / "etc" / "smb.conf"
    # Samba daemonises itself and writes run/samba.pid: nothing is left
    # attached to the calling process (pytest, the CLI).
    done = subprocess.run(  # noqa: S603 - a fixed argv, no shell
        [samba, "--configfile", str(conf), "--daemon"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise SambaError(
            f"samba did not start:\n{done.stderr[-2000:]}{_log_tail(directory)}"
        )


def _wait_until_ready(directory: Path, pki: Pki, url: str = URL) -> None:
    started = time.monotonic()
    answer = samba_directory.NOT_LISTENING
    while (elapsed := time.monotonic() - started) < READY_TIMEOUT:
        answer = samba_directory.probe(
            url, ADMIN_USER, ADMIN_PASSWORD, str(pki.ca_cert)
        )
        if answer == samba_directory.READY:
            return
        # The daemon writes its pid file within moments; without one it died.
        if elapsed > 5 and _our_pid(directory) is None:
            raise SambaError(f"samba exited while starting{_log_tail(directory)}")
        time.sleep(0.2)
    raise SambaError(
        f"no LDAPS bind within {READY_TIMEOUT:.0f} s ({answer}){_log_tail(directory)}"
    )


def _stop_locked(directory: Path) -> bool:
    pid = _our_pid(directory)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while _running(pid) or _running(pid, group=True):
        if time.monotonic() > deadline:
            # Samba daemonised with setsid, so its process group is only ours.
            os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    (directory / "run" / "samba.pid").unlink(missing_ok=True)
    return True


def _our_pid(directory: Path) -> int | None:
    """The pid in run/samba.pid if it is a live samba; removes a stale file."""
    pid_file = directory / "run" / "samba.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        is_samba = Path(f"/proc/{pid}/exe").resolve().name == "samba"
    except (OSError, ValueError, IndexError):
        is_samba = False
    if is_samba:
        return pid
    pid_file.unlink(missing_ok=True)  # stale: samba does not remove it on exit
    return None


def _running(pid: int, *, group: bool = False) -> bool:
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as someone else's
    return True


def _lease(directory: Path, pid: int) -> Path:
    leases = directory / "run" / "leases"
    leases.mkdir(parents=True, exist_ok=True)
    return leases / f"{pid}.lease"


def _auto_stop_marker(directory: Path) -> Path:
    return directory / "run" / "stop-when-unused"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One start/stop at a time per DIR, across processes (parallel pytest
    sessions by different engineers)."""
    (directory / "run").mkdir(parents=True, exist_ok=True)
    with open(directory / "run" / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _log_tail(directory: Path, lines: int = 30) -> str:
    log = directory / "samba.log"
    if not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n--- " + str(log) + " ---\n" + "\n".join(tail)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.samba_dc", description=__doc__
    )
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--dir", type=Path, default=None, help="state directory")
    parser.add_argument(
        "--address", default=ADDRESS, help="loopback address to listen on"
    )
    args = parser.parse_args(argv)
    directory = (args.dir or default_directory()).resolve()
    try:
        if args.command == "start":
            dc = start(directory, args.address)
            how = "started" if dc.started_here else "already running, reused"
            sys.stdout.write(
                f"Samba AD DC {how}\n  url: {dc.url}\n  base_dn: {dc.base_dn}\n"
                f"  bind user: {dc.admin_user}\n  password: {dc.admin_password}\n"
                f"  CA file: {dc.ca_file}\n  realm: {dc.realm}\n"
                f"  log: {directory / 'samba.log'}\n"
            )
        elif args.command == "stop":
            stopped = stop(directory)
            sys.stdout.write("stopped\n" if stopped else "no DC started from here\n")
        else:
            sys.stdout.write(status(directory, args.address) + "\n")
    except SambaError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
