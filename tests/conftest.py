"""Shared test configuration. Fixtures for real servers live in tests/support."""

from __future__ import annotations

pytest_plugins = [
    "tests.support.samba",
    "tests.support.db",
    "tests.support.service",
    "tests.support.access",
    "tests.support.reviews",
    "tests.support.ad_service",
    "tests.support.graph_server",
    "tests.support.scim_server",
    "tests.support.smtp",
    "tests.support.offboarding",
    "tests.support.console",
    "tests.support.vault_kv",
]
