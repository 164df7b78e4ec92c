"""The SCIM connector through ``VendorProxy``: HTTPS verified with the test
PKI, the deviations real SaaS providers show, ETags as the server saw them,
errors and outages. The proxy forwards to a scim2-server tenant of the test's
own; what was stored is checked there directly."""

from __future__ import annotations

import dataclasses
import email.utils
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.base import (
    AccountSpec,
    Capability,
    Conflict,
    NotSupported,
    PermanentError,
    PolicyRefused,
    RetryableError,
    Secret,
    Throttled,
)
from connectors.scim import ScimConnector, ScimSettings
from connectors.scim_http import ScimRefused
from tests.support.scim_proxy import Deviations, VendorProxy
from tests.support.scim_server import ScimTenant, plain_session

STRONG = Secret("Correct-Horse-42")


def person(username: str) -> AccountSpec:
    return AccountSpec(
        username=username,
        employee_id=f"E-{username}",
        given_name="Jiro",
        family_name="Kato",
        email=f"{username}@mail.example.test",
        department="Engineering",
        title="Engineer",
    )


@pytest.fixture
def connector(scim_proxy_settings: ScimSettings) -> Iterator[ScimConnector]:
    built = ScimConnector(scim_proxy_settings, plain_session())
    yield built
    built.close()


def lifecycle(connector: ScimConnector, tenant: ScimTenant, name: str) -> None:
    """Joiner, mover, leaver and deletion, each read back directly."""
    tenant.create_group(f"{name}-group")
    ref = connector.create_account(person(name), STRONG)
    assert connector.create_account(person(name), STRONG) == ref  # adopted
    found = connector.find_account(username=name)
    assert found is not None and found.ref.native_id == ref.native_id
    connector.update_account(ref, {"title": "Lead", "department": None})
    connector.add_to_group(ref, f"{name}-group")
    assert connector.get_account(ref).groups == {f"{name}-group"}
    connector.set_enabled(ref, False)
    stored = tenant.get(f"/Users/{ref.native_id}")
    assert stored is not None and stored["active"] is False
    assert stored["title"] == "Lead"
    state = connector.get_account(ref)
    assert not state.enabled and state.attributes["department"] is None
    connector.remove_from_group(ref, f"{name}-group")
    assert tenant.members(f"{name}-group") == set()
    assert ref.native_id in {s.ref.native_id for s in connector.iter_accounts(2)}
    connector.delete_account(ref)
    assert tenant.get(f"/Users/{ref.native_id}") is None
    assert connector.find_account(username=name) is None


DEVIATIONS = {
    "patch-200-with-resource": Deviations(patch_status=200),
    "application-json": Deviations(plain_json=True),
    "no-totals-no-empty-resources": Deviations(
        drop_totals=True, drop_empty_resources=True
    ),
    "string-booleans": Deviations(string_booleans=True),
    "user-names-in-another-case": Deviations(shout_user_names=True),
    "filter-ignored": Deviations(ignore_filter=True),
    "no-patch-put-instead": Deviations(no_patch=True),
    "groups-on-the-user": Deviations(user_groups=True),
}


@pytest.mark.parametrize("deviation", DEVIATIONS.values(), ids=DEVIATIONS.keys())
def test_the_lifecycle_works_whatever_the_vendor_deviation(
    connector: ScimConnector,
    scim_proxy: VendorProxy,
    scim_server: ScimTenant,
    deviation: Deviations,
) -> None:
    create_helpers = [f"x{n}" for n in range(3)]  # more than a page of 2
    for name in create_helpers:
        connector.create_account(person(name), None)
    scim_proxy.deviations = deviation

    lifecycle(connector, scim_server, "dev")

    if deviation.no_patch:
        assert scim_proxy.requests_for("PUT", "/Users/")


def test_a_provider_that_lists_groups_on_the_user_saves_a_query(
    connector: ScimConnector, scim_proxy: VendorProxy, scim_server: ScimTenant
) -> None:
    scim_server.create_group("Everyone")
    ref = connector.create_account(person("listed"), STRONG)
    connector.add_to_group(ref, "Everyone")
    scim_proxy.deviations.user_groups = True
    scim_proxy.seen.clear()

    assert connector.get_account(ref).groups == {"Everyone"}
    assert [r.path for r in scim_proxy.seen] == [f"/Users/{ref.native_id}"]


def test_plain_scim2_server_answers_patch_with_204_and_no_body(
    connector: ScimConnector, scim_proxy: VendorProxy
) -> None:
    ref = connector.create_account(person("quiet"), STRONG)
    connector.set_enabled(ref, False)

    [patch] = scim_proxy.requests_for("PATCH", f"/Users/{ref.native_id}")
    assert patch.body["Operations"] == [
        {"op": "replace", "path": "active", "value": False}
    ]
    assert all(r.bearer for r in scim_proxy.seen)


def test_if_match_carries_the_version_read_before_each_write(
    connector: ScimConnector, scim_proxy: VendorProxy
) -> None:
    ref = connector.create_account(person("tagged"), STRONG)
    connector.update_account(ref, {"title": "Lead"})
    connector.set_enabled(ref, False)
    connector.delete_account(ref)

    writes = [
        r
        for r in scim_proxy.seen
        if r.method in ("PATCH", "DELETE") and r.path.startswith("/Users/")
    ]
    assert [r.headers.get("If-Match") for r in writes] == ['W/"1"', 'W/"2"', 'W/"3"']
    group_patches = scim_proxy.requests_for("PATCH", "/Groups")
    assert all("If-Match" not in r.headers for r in group_patches)


def test_a_stale_etag_is_read_again_and_retried_once(
    connector: ScimConnector, scim_proxy: VendorProxy, scim_server: ScimTenant
) -> None:
    ref = connector.create_account(person("raced"), STRONG)
    someone_else = iter(["Sales"])

    def change_it_first(method: str, path: str) -> None:
        if method == "PATCH" and path == f"/Users/{ref.native_id}":
            department = next(someone_else, None)
            if department:
                scim_server.patch(
                    path, {"op": "replace", "path": "nickName", "value": department}
                )

    scim_proxy.before_forward = change_it_first
    connector.set_enabled(ref, False)

    first, second = scim_proxy.requests_for("PATCH", f"/Users/{ref.native_id}")
    assert first.headers["If-Match"] != second.headers["If-Match"]
    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None and stored["active"] is False
    assert stored["nickName"] == "Sales"  # the other change was not lost


def test_an_etag_stale_twice_is_retryable_and_changes_nothing(
    connector: ScimConnector, scim_proxy: VendorProxy, scim_server: ScimTenant
) -> None:
    ref = connector.create_account(person("busy"), STRONG)
    counter = iter(range(100))

    def always_first(method: str, path: str) -> None:
        if method == "PATCH" and path.startswith("/Users/"):
            scim_server.patch(
                path,
                {"op": "replace", "path": "nickName", "value": f"n{next(counter)}"},
            )

    scim_proxy.before_forward = always_first
    with pytest.raises(RetryableError, match="twice"):
        connector.set_enabled(ref, False)

    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None and stored["active"] is True


def test_an_outage_is_retryable_and_it_recovers(
    connector: ScimConnector, scim_proxy: VendorProxy
) -> None:
    ref = connector.create_account(person("outage"), STRONG)
    scim_proxy.down()

    with pytest.raises(RetryableError, match="cannot reach"):
        connector.set_enabled(ref, False)

    scim_proxy.up()
    connector.set_enabled(ref, False)
    assert not connector.get_account(ref).enabled


def _http_date(seconds: float) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


@pytest.mark.parametrize(
    ("status", "headers", "kind", "wait"),
    [
        (429, {"Retry-After": "7"}, Throttled, 7.0),
        (503, {"Retry-After": "HTTP-date in 120 s"}, Throttled, 120.0),
        (503, {}, Throttled, None),
        (500, {}, RetryableError, None),
        (502, {}, RetryableError, None),
    ],
    ids=["429-seconds", "503-date", "503-bare", "500", "502"],
)
def test_throttling_and_server_errors_are_retryable(
    connector: ScimConnector,
    scim_proxy: VendorProxy,
    status: int,
    headers: dict[str, str],
    kind: type[RetryableError],
    wait: float | None,
) -> None:
    connector.discover()
    if headers.get("Retry-After", "").startswith("HTTP-date"):
        headers = {"Retry-After": _http_date(120)}
    scim_proxy.deviations.fail_with = (status, headers, None)

    with pytest.raises(kind) as raised:
        connector.find_account(username="anyone")

    assert type(raised.value) is kind
    if wait is None:
        assert raised.value.retry_after is None
    else:
        assert raised.value.retry_after == pytest.approx(wait, abs=2)


@pytest.mark.parametrize(
    ("status", "scim_type", "expected"),
    [
        (400, "invalidValue", "400 invalidValue: the title is too long"),
        (400, "invalidFilter", "400 invalidFilter: the title is too long"),
        (400, "mutability", "400 mutability: the title is too long"),
        (403, None, "lacks the rights"),
        (401, None, "refused the bearer token"),
    ],
)
def test_refusals_are_permanent_and_quote_the_provider(
    connector: ScimConnector,
    scim_proxy: VendorProxy,
    status: int,
    scim_type: str | None,
    expected: str,
) -> None:
    ref = connector.create_account(person("refused"), STRONG)
    error: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": "the title is too long",
    }
    if scim_type:
        error["scimType"] = scim_type
    scim_proxy.deviations.fail_with = (status, {}, error)
    scim_proxy.deviations.fail_methods = frozenset({"PATCH"})

    with pytest.raises(PermanentError) as raised:
        connector.update_account(ref, {"title": "x" * 300})

    assert expected in str(raised.value)
    if status == 400:
        assert isinstance(raised.value, ScimRefused)
        assert raised.value.scim_type == scim_type


def test_a_password_the_provider_refuses_is_policy_refused_and_masked(
    connector: ScimConnector, scim_proxy: VendorProxy
) -> None:
    ref = connector.create_account(person("pw"), STRONG)
    candidate = "Valid-Looking-77"
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
        "scimType": "invalidValue",
        "detail": f"password {candidate} was used before",
    }
    scim_proxy.deviations.fail_with = (400, {}, error)
    scim_proxy.deviations.fail_methods = frozenset({"PATCH"})

    with pytest.raises(PolicyRefused) as raised:
        connector.set_password(ref, Secret(candidate), must_change=True)
    assert candidate not in str(raised.value) and "used before" in str(raised.value)


def test_a_certificate_from_another_ca_is_refused_for_good(
    scim_proxy_settings: ScimSettings,
) -> None:
    settings = dataclasses.replace(scim_proxy_settings, ca_file=None)
    connector = ScimConnector(settings, plain_session())  # the system CAs only

    with pytest.raises(PermanentError, match="TLS verification"):
        connector.discover()
    connector.close()


def test_a_provider_without_groups_or_passwords(
    connector: ScimConnector, scim_proxy: VendorProxy, scim_server: ScimTenant
) -> None:
    def poorer(method: str, path: str, data: Any) -> Any:
        if path == "/ServiceProviderConfig":
            data["changePassword"] = {"supported": False}
            data["etag"] = {"supported": False}
        if path == "/ResourceTypes":
            data["Resources"] = [r for r in data["Resources"] if r["id"] == "User"]
            for resource_type in data["Resources"]:
                resource_type.pop("schemaExtensions", None)
        if path == "/Schemas":
            data["Resources"] = [
                s for s in data["Resources"] if s["id"].endswith(":core:2.0:User")
            ]
            for schema in data["Resources"]:
                schema["attributes"] = [
                    a
                    for a in schema["attributes"]
                    if a["name"] not in ("roles", "entitlements")
                ]
        return data

    scim_proxy.rewrite = poorer
    ref = connector.create_account(person("sso"), STRONG)

    assert connector.capabilities == {Capability.DELETE}
    [post] = scim_proxy.requests_for("POST", "/Users")
    assert "password" not in post.body  # SSO-only: never sent
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" not in post.body
    stored = scim_server.get(f"/Users/{ref.native_id}")
    assert stored is not None and stored["active"] is True
    with pytest.raises(NotSupported):
        connector.add_to_group(ref, "Everyone")
    with pytest.raises(NotSupported):
        connector.set_password(ref, STRONG, must_change=True)
    assert connector.list_admin_roles() == []
    connector.set_enabled(ref, False)
    assert all("If-Match" not in r.headers for r in scim_proxy.seen)


@pytest.mark.parametrize("status", [409, 400], ids=["409", "400-uniqueness"])
@pytest.mark.parametrize("same_employee", [True, False], ids=["adopted", "conflict"])
def test_a_taken_user_name_on_create_adopts_or_refuses_what_someone_created(
    connector: ScimConnector,
    scim_proxy: VendorProxy,
    scim_server: ScimTenant,
    same_employee: bool,
    status: int,
) -> None:
    wanted = person("racer")
    employee = wanted.employee_id if same_employee else "E-someone-else"
    created: list[str] = []

    def someone_is_faster(method: str, path: str) -> None:
        if method == "POST" and path == "/Users" and not created:
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "racer@example.test",
                "externalId": employee,
            }
            created.append(str(scim_server.post("/Users", body)["id"]))

    scim_proxy.before_forward = someone_is_faster
    if status == 400:  # how some vendors say it
        error = {"status": "400", "scimType": "uniqueness", "detail": "taken"}
        scim_proxy.deviations.fail_with = (400, {}, error)
        scim_proxy.deviations.fail_methods = frozenset({"POST"})
    if same_employee:
        assert connector.create_account(wanted, STRONG).native_id == created[0]
    else:
        with pytest.raises(Conflict, match="another employee"):
            connector.create_account(wanted, STRONG)
    [post] = scim_proxy.requests_for("POST", "/Users")
    assert post.body["userName"] == "racer@example.test"
