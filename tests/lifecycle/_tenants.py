"""Tenants opened from a secret directory, for the lifecycle tests; every resolver
opened is closed after the test by ``tests/lifecycle/conftest.py``."""

from __future__ import annotations

import secrets
from pathlib import Path

from tenantkit.resolver import Resolver, Tenant
from tenantkit.sources import DirectorySource

TENANT = "acme"

_RESOLVERS: list[Resolver] = []


def open_tenant(directory: Path, tenant_id: str = TENANT) -> Tenant:
    """Resolve ``tenant_id`` from the secrets in ``directory`` with a fresh resolver."""
    resolver = Resolver(DirectorySource(directory), signing_key=secrets.token_bytes(32))
    _RESOLVERS.append(resolver)
    return resolver.resolve(tenant_id)


def close_all() -> None:
    """Close every resolver ``open_tenant`` opened."""
    while _RESOLVERS:
        _RESOLVERS.pop().close()
