"""The 100,000-account directory of the reconciliation benchmark, built once.

Filling Samba with 100,000 users takes about 20 minutes, so the directory is
a DC of its own, kept outside the repository in ``$IAM_BENCH_SAMBA_DIR``
(default ``/var/tmp/iam-samba-100k``) and reused between runs. It listens on
127.0.0.2 (a labelled loopback alias, added here when missing), so it never
competes with the test DC on 127.0.0.1 and its size never slows the tests.

    python -m benchmarks.samba_100k build     # start it, fill it if needed
    python -m benchmarks.samba_100k stop

What it holds (dummy data, 8.33), all under ``OU=bench-100k``:

* ``bk000000`` ... ``bk099999``: employee ids ``B000000`` ...; member of
  ``BG-All-Staff`` and of their department's group ``BG-Dept-NN`` (NN = n
  mod 20), except one in 200 (n mod 200 == 11) left out of the department
  group (*missing*), and one in 200 (n mod 200 == 7) also in ``BG-Admins``
  (*unexpected*);
* ``bo00000`` ... ``bo00099``: accounts of nobody (*orphans*).

Users are added enabled without a password (``PASSWD_NOTREQD``): hashing
passwords would triple the fill time and the benchmark never signs in.
``accounts.tsv`` in the directory lists user name, objectGUID and employee
id for the benchmark's service-side set-up.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap3

from connectors.ad_attributes import guid_of
from connectors.ldap_session import LdapEntry
from tools import samba_dc, samba_provision
from tools.samba_directory import connect, ensure_layout

DIRECTORY = Path(os.environ.get("IAM_BENCH_SAMBA_DIR", "/var/tmp/iam-samba-100k"))
ADDRESS = "127.0.0.2"
LABEL = "lo:iambench"
USERS = int(os.environ.get("BENCH_ACCOUNTS", "100000"))
ORPHANS = 100
DEPARTMENTS = 20
ROOT = f"OU=bench-100k,{samba_dc.BASE_DN}"
ALL_STAFF, ADMINS = "BG-All-Staff", "BG-Admins"
GROUPS = (ALL_STAFF, ADMINS, *(f"BG-Dept-{d:02d}" for d in range(DEPARTMENTS)))
FILL_VERSION = "1"
_BATCH = 1000  # members per modify
_ADD_WORKERS = 4  # Samba's LDAP server runs 4 worker processes


@dataclass(frozen=True)
class BenchDirectory:
    dc: samba_dc.DomainController
    people: str
    leavers: str
    groups: str
    accounts_file: Path

    def admin(self) -> Any:
        return connect(
            self.dc.url,
            self.dc.admin_user,
            self.dc.admin_password,
            str(self.dc.ca_file),
        )


def username(n: int) -> str:
    return f"bk{n:06d}"


def employee_id(n: int) -> str:
    return f"B{n:06d}"


def department(n: int) -> str:
    return f"BENCH-{n % DEPARTMENTS:02d}"


def dept_group(n: int) -> str:
    return f"BG-Dept-{n % DEPARTMENTS:02d}"


def is_missing(n: int) -> bool:
    return n % 200 == 11


def is_unexpected(n: int) -> bool:
    return n % 200 == 7


def ensure_address() -> None:
    """The loopback alias the benchmark DC listens on (root only)."""
    shown = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", "lo"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if f" {ADDRESS}/" not in shown:
        subprocess.run(
            ["ip", "addr", "add", f"{ADDRESS}/8", "dev", "lo", "label", LABEL],
            check=True,
        )


def start() -> BenchDirectory:
    """Start (or reuse) the benchmark DC and fill it if that was not done."""
    ensure_address()
    _provision_without_sync()
    dc = samba_dc.start(DIRECTORY, ADDRESS)
    connection = connect(dc.url, dc.admin_user, dc.admin_password, str(dc.ca_file))
    try:
        layout = ensure_layout(connection, ROOT, GROUPS)
    finally:
        connection.unbind()
    found = BenchDirectory(
        dc, layout.people, layout.leavers, layout.groups, DIRECTORY / "accounts.tsv"
    )
    marker = DIRECTORY / ".filled"
    if not (marker.exists() and marker.read_text() == f"{FILL_VERSION}:{USERS}"):
        fill(found)
        marker.write_text(f"{FILL_VERSION}:{USERS}")
    return found


def _provision_without_sync() -> None:
    """Provision the DC (as ``tools.samba_dc`` would) and let it skip fsync:
    each add then costs CPU only. A crash may lose the cache, never the test
    DC's data; the cache is rebuilt on the next run."""
    domain = DIRECTORY / "domain"
    if not samba_provision.is_provisioned(domain):
        pki = samba_dc.ensure_test_pki(DIRECTORY / "tls", ADDRESS)
        samba_provision.provision(domain, DIRECTORY, pki, ADDRESS)
    conf = domain / "etc" / "smb.conf"
    text = conf.read_text()
    if _NOSYNC not in text:
        if samba_dc.stop(DIRECTORY):  # running without it: restart with it
            time.sleep(1)
        conf.write_text(text.replace("[global]\n", f"[global]\n\t{_NOSYNC}\n", 1))


_NOSYNC = "ldb:nosync = true"


def attach() -> BenchDirectory:
    """The running, filled benchmark DC (for the measured processes)."""
    dc = samba_dc._facts(  # the facts of a DC that start() brought up
        DIRECTORY,
        samba_dc.ensure_test_pki(DIRECTORY / "tls", ADDRESS),
        started_here=False,
        address=ADDRESS,
    )
    return _layout(dc)


def _layout(dc: samba_dc.DomainController) -> BenchDirectory:
    return BenchDirectory(
        dc,
        f"OU=People,{ROOT}",
        f"OU=Leavers,{ROOT}",
        f"OU=Groups,{ROOT}",
        DIRECTORY / "accounts.tsv",
    )


def stop() -> bool:
    return samba_dc.stop(DIRECTORY)


def fill(d: BenchDirectory) -> None:
    """Add what is missing: users (in parallel), memberships, the list."""
    started = time.monotonic()
    ranges = [(w, _ADD_WORKERS) for w in range(_ADD_WORKERS)]
    with multiprocessing.get_context("spawn").Pool(_ADD_WORKERS) as pool:
        added = sum(pool.starmap(_add_users, [(d.dc, d.people, *r) for r in ranges]))
    _log(f"{added} users added in {time.monotonic() - started:.0f} s")
    connection = d.admin()
    try:
        _add_members(connection, d)
        _log(f"memberships done after {time.monotonic() - started:.0f} s")
        _write_accounts(connection, d)
    finally:
        connection.unbind()


def _log(message: str) -> None:
    sys.stderr.write(f"[samba_100k] {message}\n")
    sys.stderr.flush()


def _wanted() -> Iterator[tuple[str, str]]:
    for n in range(USERS):
        yield username(n), employee_id(n)
    for n in range(ORPHANS):
        yield f"bo{n:05d}", f"O{n:05d}"


def _add_users(
    dc: samba_dc.DomainController, people: str, worker: int, workers: int
) -> int:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, str(dc.ca_file))
    added = 0
    try:
        pages = _paged(connection, people, ["sAMAccountName"])
        have = {e.first("sAMAccountName") for page in pages for e in page}
        for index, (name, eid) in enumerate(_wanted()):
            if index % workers != worker or name in have:
                continue
            try:
                connection.add(
                    f"CN={name},{people}",
                    ["top", "person", "organizationalPerson", "user"],
                    {
                        "sAMAccountName": name,
                        "employeeID": eid,
                        "givenName": "Bench",
                        "sn": name,
                        "displayName": f"Bench {name}",
                        "mail": f"{name}@example.test",
                        "department": "bench",
                        "title": "Staff",
                        # NORMAL_ACCOUNT | PASSWD_NOTREQD: enabled, no password.
                        "userAccountControl": "544",
                    },
                )
                added += 1
            except ldap3.core.exceptions.LDAPEntryAlreadyExistsResult:
                continue
            if added % 5000 == 0 and added:
                _log(f"worker {worker}: {added} added")
    finally:
        connection.unbind()
    return added


def _members_of(group: str) -> list[int]:
    if group == ALL_STAFF:
        return list(range(USERS))
    if group == ADMINS:
        return [n for n in range(USERS) if is_unexpected(n)]
    return [n for n in range(USERS) if dept_group(n) == group and not is_missing(n)]


def _add_members(connection: Any, d: BenchDirectory) -> None:
    """Batches of 1,000 members per modify; a group done is marked in the
    directory, so an interrupted fill resumes where it stopped."""
    for group in GROUPS:
        marker = DIRECTORY / f".members-{group}"
        if marker.exists():
            continue
        group_dn = f"CN={group},{d.groups}"
        wanted = _members_of(group)
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            dns = [f"CN={username(n)},{d.people}" for n in batch]
            try:
                connection.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, dns)]})
            except _ALREADY:
                for dn in dns:  # a batch added before an interruption
                    _add_one(connection, group_dn, dn)
        marker.touch()
        _log(f"{group}: {len(wanted)} members")


_ALREADY = (
    ldap3.core.exceptions.LDAPEntryAlreadyExistsResult,
    ldap3.core.exceptions.LDAPAttributeOrValueExistsResult,
)


def _add_one(connection: Any, group_dn: str, dn: str) -> None:
    try:
        connection.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [dn])]})
    except _ALREADY:
        return


def _write_accounts(connection: Any, d: BenchDirectory) -> None:
    rows = []
    for page in _paged(
        connection, d.people, ["objectGUID", "sAMAccountName", "employeeID"]
    ):
        for entry in page:
            rows.append(
                f"{entry.first('sAMAccountName')}\t{guid_of(entry)}\t"
                f"{entry.first('employeeID') or ''}\n"
            )
    tmp = d.accounts_file.with_suffix(".tmp")
    tmp.write_text("".join(sorted(rows)))
    tmp.replace(d.accounts_file)
    _log(f"{len(rows)} accounts listed in {d.accounts_file}")


def _paged(
    connection: Any, base: str, attributes: list[str]
) -> Iterator[list[LdapEntry]]:
    cookie = None
    while True:
        connection.search(
            base,
            "(&(objectCategory=person)(objectClass=user))",
            attributes=attributes,
            paged_size=1000,
            paged_cookie=cookie,
        )
        yield [
            LdapEntry(r["dn"], {k.lower(): v for k, v in r["raw_attributes"].items()})
            for r in connection.response
            if r.get("type") == "searchResEntry"
        ]
        controls = connection.result.get("controls") or {}
        cookie = (
            controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
        )
        if not cookie:
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.samba_100k")
    parser.add_argument("command", choices=("build", "stop", "status"))
    args = parser.parse_args(argv)
    if args.command == "build":
        d = start()
        print(f"ready: {d.dc.url} {d.people} ({d.accounts_file})")
    elif args.command == "stop":
        print("stopped" if stop() else "not running")
    else:
        print(samba_dc.status(DIRECTORY, ADDRESS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
