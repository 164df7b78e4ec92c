"""A rehire before deletion on the real Samba AD (5.16): the same account
comes back out of the leavers' OU, enabled, with a fresh password (the one
from before the termination no longer signs in) and the fresh birthright
groups only, never what it held before; the open case is cancelled."""

from __future__ import annotations

import pytest

from connectors.active_directory import ActiveDirectoryConnector
from connectors.base import AccountRef, Secret
from iam_service.bootstrap import Container
from iam_service.domain.hr import HrEvent
from tests.support.ad_service import AdTarget
from tests.support.samba import SambaDc
from tests.support.service import drain, event, hire
from tools.samba_directory import connect

pytestmark = pytest.mark.samba
OWN_PASSWORD = Secret("Own-Passw0rd-before-leaving")  # dummy (8.33)


def _submit(c: Container, body: dict[str, object]) -> None:
    c.hr_intake.submit(HrEvent.model_validate(body), actor="token:hr")


def _entry(dc: SambaDc, target: AdTarget, employee_id: str) -> dict[str, object]:
    connection = connect(dc.url, dc.admin_user, dc.admin_password, dc.ca_file)
    try:
        connection.search(
            target.sandbox.root,
            f"(employeeID={employee_id})",
            attributes=["userAccountControl", "memberOf", "pwdLastSet", "objectGUID"],
        )
        [entry] = connection.entries
        return {
            "dn": entry.entry_dn,
            "guid": str(entry.objectGUID.value),
            "enabled": not int(entry.userAccountControl.value) & 0x2,
            "groups": sorted(
                g.split(",")[0].removeprefix("CN=") for g in entry.memberOf.values
            )
            if "memberOf" in entry
            else [],
            "must_change": str(entry.pwdLastSet.value) == "0",  # at next sign-in
        }
    finally:
        connection.unbind()


def test_a_rehire_restores_the_same_ad_account_with_fresh_birthright_only(
    ad_service: Container, ad_target: AdTarget, samba_dc: SambaDc
) -> None:
    person = f"R{ad_target.sandbox.tag[:6]}"
    _submit(ad_service, hire(person, "SALES", given_name="Re", family_name=person))
    drain(ad_service)
    connector = ActiveDirectoryConnector(ad_target.settings)
    try:
        found = connector.find_account(employee_id=person)
        assert found is not None
        ref = AccountRef(found.ref.native_id, found.ref.username)
        connector.set_password(ref, OWN_PASSWORD, must_change=False)
        connector.add_to_group(ref, "GG-Finance")  # held outside the birthright
        assert connector.check_password(ref, OWN_PASSWORD)
        before = _entry(samba_dc, ad_target, person)
        assert before["groups"] == ["GG-All-Staff", "GG-Finance", "GG-Sales"]

        _submit(ad_service, event("terminate", person, f"out-{person}"))
        drain(ad_service)
        left = _entry(samba_dc, ad_target, person)
        assert not left["enabled"] and left["groups"] == []
        assert str(left["dn"]).endswith(ad_target.sandbox.leavers)

        rehire = event(
            "rehire",
            person,
            f"back-{person}",
            given_name="Re",
            family_name=person,
            email=f"{person.lower()}@example.test",
            department="ENG",
            title="Staff",
        )
        _submit(ad_service, rehire)
        drain(ad_service)
        back = _entry(samba_dc, ad_target, person)
        assert back["guid"] == before["guid"]  # the same account
        assert str(back["dn"]).endswith(ad_target.sandbox.people)
        assert back["enabled"] and back["must_change"]
        assert back["groups"] == ["GG-All-Staff", "GG-Engineering"]
        assert not connector.check_password(ref, OWN_PASSWORD)
    finally:
        connector.close()
    [case] = ad_service.offboarding.cases.for_person(person)
    assert case["status"] == "cancelled"
