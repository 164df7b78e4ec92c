"""The two ``SecretStore``s behind one interface (5.17: no password kept
readable): sealed rows in our database, and HashiCorp Vault KV v2 through
hvac against a KV v2-compatible server on loopback."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from connectors.base import Secret
from connectors.fake import FakeConnector
from iam_service.adapters.orm_privileged import sealed_secrets
from iam_service.adapters.vault_kv import VaultError, VaultKvSecretStore, VaultSettings
from iam_service.bootstrap import Container
from iam_service.domain.clock import FrozenClock
from iam_service.domain.privileged_requests import CustodianChange, RotationCreate
from iam_service.services.secret_vault import (
    DatabaseSecretStore,
    SecretStore,
    SecretStoreError,
)
from tests.support.db import TestDatabase
from tests.support.privileged import OFFICER, SYSADMIN, admin_account, person
from tests.support.service import build, drain
from tests.support.vault_kv import VaultKv

VALUE = "Sealed-Dummy-Passw0rd!8.33"


def _vault(vault_kv: VaultKv, token: str | None = None) -> VaultKvSecretStore:
    return VaultKvSecretStore(
        VaultSettings(url=vault_kv.url, token=Secret(token or vault_kv.token))
    )


def _round_trip(store: SecretStore) -> None:
    assert store.get("rotation-1") is None
    store.put("rotation-1", Secret(VALUE))
    store.put("rotation-1", Secret(VALUE + "x"))  # replaced
    found = store.get("rotation-1")
    assert found is not None and found.reveal() == VALUE + "x"
    store.destroy("rotation-1")
    store.destroy("rotation-1")  # already gone: success
    assert store.get("rotation-1") is None


def test_the_database_store_keeps_only_ciphertext(container: Container) -> None:
    store = DatabaseSecretStore(container.uow, "a-test-key")
    store.put("rotation-7", Secret(VALUE))
    with container.session_factory() as session:
        [sealed] = session.scalars(select(sealed_secrets.c.sealed)).all()
    assert VALUE.encode() not in sealed and len(sealed) > len(VALUE)
    # Another key, or the row under another reference, opens nothing.
    with pytest.raises(SecretStoreError):
        DatabaseSecretStore(container.uow, "another-key").get("rotation-7")
    with container.uow() as uow:
        uow.sealed_secrets.put("rotation-8", sealed, uow.clock.now())
        uow.commit()
    with pytest.raises(SecretStoreError):
        store.get("rotation-8")
    _round_trip(store)


def test_the_vault_store_round_trips_and_destroys_every_version(
    vault_kv: VaultKv,
) -> None:
    store = _vault(vault_kv)
    _round_trip(store)
    assert vault_kv.store.live() == {}
    assert vault_kv.store.writes == ["iam/rotations/rotation-1"] * 2


def test_the_vault_store_reports_a_refused_token_without_the_value(
    vault_kv: VaultKv,
) -> None:
    with pytest.raises(VaultError) as refused:
        _vault(vault_kv, token="s.wrong").put("rotation-1", Secret(VALUE))
    assert VALUE not in str(refused.value)


def test_vault_settings_refuse_plain_http_off_this_machine() -> None:
    with pytest.raises(ValueError, match="https"):
        VaultSettings(url="http://vault.example.test:8200", token=Secret("t"))


def test_a_rotation_with_the_vault_store_leaves_no_ciphertext_with_us(
    database: TestDatabase,
    clock: FrozenClock,
    fake_ad: FakeConnector,
    vault_kv: VaultKv,
) -> None:
    container = build(
        database,
        {"ad": fake_ad},
        clock,
        secret_store="vault",
        vault_url=vault_kv.url,
        vault_token=vault_kv.token,
    )
    try:
        person(container, "E0200")
        admin_account(fake_ad, "adm-v", "Old-Admin-Passw0rd!")
        container.privileged.discovery.discover(actor="test")
        [account] = container.privileged.inventory.accounts()
        container.privileged.inventory.add_custodian(
            account["id"], CustodianChange(employee_id="E0200"), SYSADMIN
        )
        view = container.privileged.handovers.rotate_account(
            account["id"], RotationCreate(), OFFICER
        )
        drain(container)
        ref = f"rotation-{view['rotations'][0]['id']}"
        assert list(vault_kv.store.live()) == [f"iam/rotations/{ref}"]
        with container.session_factory() as session:
            assert session.scalars(select(sealed_secrets.c.ref)).all() == []
        # The password the worker set is the one Vault holds for the recipient.
        secret = container.privileged.store.get(ref)
        found = fake_ad.find_account(username="adm-v")
        assert secret is not None and found is not None
        assert fake_ad.check_password(found.ref, secret)
    finally:
        container.close()
