"""The Entra ID connector through the real msal library and HTTPS against the
Graph test server: tokens, throttling, $batch, paging, delta, roles, errors.
All people and credentials are dummies (8.33)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from connectors.base import (
    AccountRef,
    AccountSpec,
    NotFound,
    PermanentError,
    PolicyRefused,
    RetryableError,
    Secret,
    Throttled,
)
from connectors.entra import EntraConnector
from connectors.graph_client import BatchRequest
from tests.support.graph_server import CLIENT_ID, GraphServer, app_certificate

STRONG = Secret("Correct-Horse-42")
ZERO_ID = "00000000-0000-4000-8000-000000000000"


def spec(n: int | str, **changes: str) -> AccountSpec:
    values = {
        "username": f"user{n}",
        "employee_id": f"E{n}",
        "given_name": "Hanako",
        "family_name": f"Tanaka{n}",
        "email": f"user{n}@example.test",
        "department": "Sales",
        "title": "Associate",
        **changes,
    }
    return AccountSpec(**values)  # type: ignore[arg-type]


def create(connector: EntraConnector, count: int, start: int = 0) -> list[AccountRef]:
    return [connector.create_account(spec(start + n), STRONG) for n in range(count)]


# -- tokens ---------------------------------------------------------------------


def test_one_token_serves_every_call_until_it_expires(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 3)
    for ref in refs:
        entra_connector.get_account(ref)
        entra_connector.set_enabled(ref, False)

    assert graph_server.stats.token_requests == 1
    assert graph_server.stats.discovery_requests == 1


def test_connectors_sharing_a_token_cache_ask_for_one_token(
    graph_server: GraphServer,
) -> None:
    from connectors.graph_auth import new_token_cache

    cache = new_token_cache()
    first, second = (
        EntraConnector(
            graph_server.settings(), graph_server.session(), token_cache=cache
        )
        for _ in range(2)
    )
    try:
        first.find_account(username="nobody")
        second.find_account(username="nobody")
    finally:
        first.close()
        second.close()

    assert graph_server.stats.token_requests == 1


def test_a_refused_token_is_replaced_once(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.identity.revoke_all()  # say, a key rollover at Entra

    assert entra_connector.get_account(ref).enabled
    assert graph_server.stats.token_requests == 2


def test_a_certificate_credential_signs_in(
    graph_server: GraphServer, tmp_path: Path
) -> None:
    cert = app_certificate(tmp_path)
    graph_server.identity.register(
        CLIENT_ID, certificate_pem=cert.cert_file.read_bytes()
    )
    for send_certificate in (False, True):
        connector = graph_server.connector(
            client_secret=None,
            certificate=cert.credential(send_certificate=send_certificate),
        )
        try:
            assert connector.find_account(username="nobody") is None
        finally:
            connector.close()
    assert graph_server.stats.token_requests == 2


@pytest.mark.parametrize("credential", ["secret", "certificate"])
def test_wrong_app_credentials_are_a_permanent_error(
    graph_server: GraphServer, tmp_path: Path, credential: str
) -> None:
    if credential == "secret":
        connector = graph_server.connector(client_secret=Secret("not-the-secret"))
    else:  # a certificate Entra does not know for this app
        connector = graph_server.connector(
            client_secret=None, certificate=app_certificate(tmp_path).credential()
        )
    try:
        with pytest.raises(PermanentError, match="app credentials are wrong"):
            connector.find_account(username="nobody")
    finally:
        connector.close()


def test_an_unknown_tenant_is_a_permanent_error(graph_server: GraphServer) -> None:
    connector = graph_server.connector(tenant_id="no-such-tenant.example.test")
    try:
        with pytest.raises(PermanentError, match="tenant id"):
            connector.find_account(username="nobody")
    finally:
        connector.close()


def test_graph_out_of_reach_is_retryable(graph_server: GraphServer) -> None:
    connector = graph_server.connector(
        graph_url="https://127.0.0.1:1/v1.0", get_retries=0
    )
    try:
        with pytest.raises(RetryableError, match="cannot reach"):
            connector.find_account(username="nobody")
    finally:
        connector.close()


def test_an_untrusted_certificate_is_refused(graph_server: GraphServer) -> None:
    session = requests.Session()
    session.trust_env = False  # only the system CAs, which do not know the test CA
    connector = EntraConnector(graph_server.settings(), session)
    try:
        with pytest.raises(PermanentError, match="TLS verification failed"):
            connector.find_account(username="nobody")
    finally:
        connector.close()


# -- throttling and transient errors ----------------------------------------------


def test_a_long_retry_after_goes_back_to_the_queue_at_once(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.faults.throttle(30, retry_after=30)

    started = time.monotonic()
    with pytest.raises(Throttled) as raised:
        entra_connector.set_enabled(ref, False)
    with pytest.raises(Throttled):
        entra_connector.get_account(ref)  # a GET does not wait 30 s either

    assert raised.value.retry_after == 30
    assert time.monotonic() - started < 1
    assert graph_server.directory.users[ref.native_id]["accountEnabled"] is True


def test_a_503_is_throttling_too(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.faults.fail_next(1, status=503, method="POST", retry_after=12)

    with pytest.raises(Throttled) as raised:
        entra_connector.revoke_sessions(ref)
    assert raised.value.retry_after == 12


def test_a_read_waits_out_a_short_retry_after(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.faults.throttle(0.3, retry_after=1, method="GET", path="/users")
    started = time.monotonic()

    state = entra_connector.get_account(ref)

    assert state.ref == ref
    assert 0.9 < time.monotonic() - started < 3
    assert graph_server.stats.graph[("GET", f"/users/{ref.native_id}")] == 2


def test_a_new_user_a_replica_has_not_seen_yet_is_read_again(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.faults.fail_next(1, status=404, method="GET", path="/users/")

    assert entra_connector.get_account(ref).ref == ref

    started = time.monotonic()
    with pytest.raises(NotFound):  # one we did not just create: at once
        entra_connector.get_account(AccountRef(ZERO_ID, "ghost"))
    assert time.monotonic() - started < 0.5


def test_a_server_error_on_a_read_is_retried_but_not_on_a_write(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)

    graph_server.faults.fail_next(1, status=500, method="GET", path="/users/")
    assert entra_connector.get_account(ref).ref == ref

    graph_server.faults.fail_next(1, status=500, method="PATCH")
    with pytest.raises(RetryableError):
        entra_connector.set_enabled(ref, False)
    assert graph_server.stats.calls("PATCH") == 1


def test_no_answer_in_time_is_retryable(graph_server: GraphServer) -> None:
    connector = graph_server.connector(read_timeout=0.3, get_retries=0)
    try:
        connector.find_account(username="nobody")  # token first, without latency
        graph_server.faults.latency_ms = 1000
        with pytest.raises(RetryableError, match="no answer in time"):
            connector.find_account(username="nobody")
    finally:
        graph_server.faults.latency_ms = 0
        connector.close()


# -- errors ---------------------------------------------------------------------


def test_a_password_the_tenant_refuses_quotes_graph(
    entra_connector: EntraConnector,
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)

    with pytest.raises(PolicyRefused, match="password complexity requirements"):
        entra_connector.set_password(ref, Secret("short"), must_change=True)


def test_missing_rights_are_permanent_with_graphs_words(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    graph_server.faults.fail_next(1, status=403, method="POST", path="/users/")

    with pytest.raises(PermanentError) as raised:
        entra_connector.revoke_sessions(ref)
    assert "Authorization_RequestDenied" in str(raised.value)
    assert "Insufficient privileges" in str(raised.value)
    assert not isinstance(raised.value, RetryableError)


def test_links_to_other_hosts_are_not_followed(
    entra_connector: EntraConnector,
) -> None:
    with pytest.raises(PermanentError, match="another host"):
        entra_connector.graph.get(
            "https://attacker.example.test/v1.0/users", action="x"
        )


# -- $batch -----------------------------------------------------------------------


def test_bulk_work_goes_in_batches_of_at_most_20(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 45)

    outcome = entra_connector.disable_many(refs)

    assert graph_server.stats.batches == [20, 20, 5]
    assert set(outcome.done) == {r.native_id for r in refs} and not outcome.failed
    assert not any(u["accountEnabled"] for u in graph_server.directory.users.values())


def test_the_server_refuses_a_batch_of_21(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    token = entra_connector.graph.tokens.token()
    body = {
        "requests": [
            {"id": str(n), "method": "GET", "url": "/users"} for n in range(21)
        ]
    }
    with graph_server.session() as session:
        answer = session.post(
            f"{graph_server.graph_url}/$batch",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    assert answer.status_code == 400


def test_throttled_batch_items_are_sent_again(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 25)
    graph_server.directory.add_group("All Staff")
    graph_server.faults.fail_next(
        7, status=429, method="POST", path="/groups/", retry_after=1
    )

    outcome = entra_connector.add_members("All Staff", refs)
    again = entra_connector.add_members("All Staff", refs[:3])  # already members

    assert not outcome.failed and len(outcome.done) == 25
    assert not again.failed
    group = graph_server.directory.group_named("All Staff")
    assert graph_server.directory.members[group] == {r.native_id for r in refs}
    assert graph_server.stats.batches == [20, 5, 7, 3]


def test_run_batch_answers_in_order(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 3)
    answers = entra_connector.run_batch(
        [BatchRequest("GET", f"/users/{r.native_id}?$select=id") for r in refs]
        + [BatchRequest("GET", "/users/00000000-0000-4000-8000-000000000000")]
    )

    assert [a.body["id"] for a in answers[:3]] == [r.native_id for r in refs]
    assert answers[3].status == 404


# -- paging, delta, roles, licences -------------------------------------------------


def test_accounts_are_read_page_by_page(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 7)
    graph_server.stats.reset()

    seen = [s.ref for s in entra_connector.iter_accounts(page_size=3)]

    assert sorted(seen, key=lambda r: r.native_id) == sorted(
        refs, key=lambda r: r.native_id
    )
    assert (
        graph_server.stats.calls("GET", "/users")
        - graph_server.stats.calls("GET", "/users/")
        == 3
    )  # three pages of users; group memberships came in batches
    assert graph_server.stats.batches == [3, 3, 1]


def test_delta_returns_only_what_changed_since_the_link(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 5)
    graph_server.api.delta.page_size = 2  # three pages: nextLink, then deltaLink

    first = entra_connector.delta(None)
    entra_connector.update_account(refs[0], {"title": "Manager"})
    entra_connector.delete_account(refs[1])
    new = entra_connector.create_account(spec(9), STRONG)
    second = entra_connector.delta(first.delta_link)
    third = entra_connector.delta(second.delta_link)

    assert {c.native_id for c in first.changes} == {r.native_id for r in refs}
    changed = {c.native_id: c for c in second.changes}
    assert set(changed) == {refs[0].native_id, refs[1].native_id, new.native_id}
    assert changed[refs[0].native_id].attributes["title"] == "Manager"
    assert changed[refs[1].native_id].removed
    assert changed[new.native_id].username == "user9"
    assert third.changes == () and not third.restarted


def test_an_expired_delta_link_starts_over(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    refs = create(entra_connector, 2)
    link = entra_connector.delta(None).delta_link
    graph_server.directory.expire_delta_tokens()

    page = entra_connector.delta(link)

    assert page.restarted
    assert {c.native_id for c in page.changes} == {r.native_id for r in refs}


def test_directory_role_holders_are_listed(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    admin, helpdesk, _ = create(entra_connector, 3)
    group = graph_server.directory.add_group("Tier0 Admins")
    graph_server.directory.add_role(
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
        [admin.native_id, group],
    )
    graph_server.directory.add_role(
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
        [helpdesk.native_id],
    )

    found = {
        (a.role_name, a.principal_id, a.principal_upn, a.principal_type)
        for a in entra_connector.list_role_assignments()
    }

    assert found == {
        ("Global Administrator", admin.native_id, "user0@example.test", "user"),
        ("Global Administrator", group, None, "group"),
        ("Helpdesk Administrator", helpdesk.native_id, "user1@example.test", "user"),
    }


def test_licences_are_removed_and_recorded(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)
    skus = [
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        "f30db892-07e9-47e9-837c-80727f46fd3d",
    ]
    graph_server.directory.assign_licenses(
        ref.native_id, [{"skuId": s} for s in skus], []
    )

    assert entra_connector.remove_licenses(ref) == sorted(skus)
    assert entra_connector.remove_licenses(ref) == []
    assert graph_server.directory.users[ref.native_id]["assignedLicenses"] == []


def test_revoking_sessions_reaches_graph(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)

    entra_connector.revoke_sessions(ref)

    assert graph_server.directory.revocations == [ref.native_id]
    with pytest.raises(NotFound):
        entra_connector.revoke_sessions(AccountRef(ZERO_ID, "x"))


def test_new_accounts_must_change_their_password_and_carry_hr_data(
    graph_server: GraphServer, entra_connector: EntraConnector
) -> None:
    ref = entra_connector.create_account(spec(1), STRONG)

    user = graph_server.directory.users[ref.native_id]
    assert user["userPrincipalName"] == "user1@example.test"
    assert user["passwordProfile"] == {"forceChangePasswordNextSignIn": True}
    assert user["usageLocation"] == "JP"
    assert (user["employeeId"], user["department"], user["jobTitle"]) == (
        "E1",
        "Sales",
        "Associate",
    )
