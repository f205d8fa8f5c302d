"""The ownership rule of a provider's settings, checked by every conformance suite.

Every settings field is the operator's unless the plugin declares it tenant-owned
(``Annotated[..., tenantkit.TenantOwned]``). What says *where* data lives or *which*
server, role, path or key is used stays the operator's, so no field whose name has
that shape may be declared tenant-owned: URLs, endpoints, hosts, ports, paths and
directories, regions, roles and ARNs, buckets, tables, containers, accounts, DSNs,
certificates and signing or encryption keys. A tenant-owned field that holds a URL
must be a :data:`tenantkit.settings.PublicHttpsUrl`.

:class:`SettingsOwnershipConformance` is inherited by :class:`DatabaseConformance`,
:class:`StorageConformance` and :class:`LLMConformance`: it finds the registered
provider(s) of the instance under test and checks their settings classes. A test class
whose provider is a wrapper the registry does not know (a test double) names the
registered provider in ``settings_provider``. :func:`ownership_problems` is the rule
itself, for a check of every installed provider at once.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, ClassVar, get_args, get_origin

import pytest
from pydantic import AnyUrl, BaseModel

from tenantkit.plugins import Plugins
from tenantkit.registry import Kind, ProviderSpec
from tenantkit.settings import (
    OWNER_SCHEMA_KEY,
    Owner,
    check_public_https_url,
    field_owner,
    tenant_owned_fields,
)

__all__ = ["OPERATOR_SHAPED", "SettingsOwnershipConformance", "ownership_problems"]

#: Name segments (``_``-separated) of fields that only the operator may own.
OPERATOR_SHAPED = frozenset(
    {
        "url",
        "urls",
        "uri",
        "endpoint",
        "endpoints",
        "host",
        "hosts",
        "hostname",
        "port",
        "path",
        "paths",
        "root",
        "dir",
        "directory",
        "folder",
        "region",
        "regions",
        "role",
        "arn",
        "bucket",
        "table",
        "container",
        "account",
        "dsn",
        "socket",
        "server",
        "domain",
        "signing",
        "kms",
        "cert",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "credentials",
    }
)
_URL_PATTERN = re.compile(r"https?|ftp|wss?|://")


def _annotation_types(annotation: Any) -> list[Any]:
    """Every type inside an annotation (unions, Optional, containers, Annotated)."""
    found = [annotation]
    for arg in get_args(annotation):
        found.extend(_annotation_types(arg))
    return found


def _is_url_typed(settings: type[BaseModel], name: str) -> bool:
    info = settings.model_fields[name]
    for kind in _annotation_types(info.annotation):
        origin = get_origin(kind) or kind
        if isinstance(origin, type) and issubclass(origin, AnyUrl):
            return True
    for item in info.metadata:
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and _URL_PATTERN.search(pattern):
            return True
    return False


def _is_public_https_url(settings: type[BaseModel], name: str) -> bool:
    info = settings.model_fields[name]
    return any(getattr(item, "func", None) is check_public_https_url for item in info.metadata)


def _is_path_typed(settings: type[BaseModel], name: str) -> bool:
    for kind in _annotation_types(settings.model_fields[name].annotation):
        if isinstance(kind, type) and issubclass(kind, PurePath):
            return True
    return False


def ownership_problems(settings: type[BaseModel]) -> list[str]:
    """What breaks the ownership rule in a settings class (empty when it holds)."""
    problems: list[str] = []
    owned = tenant_owned_fields(settings)
    for name in sorted(settings.model_fields):
        owner = field_owner(settings, name)
        if owner not in (Owner.OPERATOR, Owner.TENANT):
            problems.append(f"{name}: unknown owner {owner!r}")
        if name not in owned:
            continue
        shaped = OPERATOR_SHAPED.intersection(name.lower().split("_"))
        if shaped:
            problems.append(
                f"{name}: declared tenant-owned, but a field named like "
                f"{sorted(shaped)[0]!r} says where data lives or which server, role, path "
                "or key is used: only the operator may own it"
            )
        if _is_path_typed(settings, name):
            problems.append(f"{name}: a file system path cannot be tenant-owned")
        if _is_url_typed(settings, name) and not _is_public_https_url(settings, name):
            problems.append(
                f"{name}: a tenant-owned URL must be typed tenantkit.PublicHttpsUrl "
                "(https, no loopback, link-local or private address)"
            )
    return problems


def _matches(spec: ProviderSpec, provider: object) -> bool:
    if isinstance(spec.factory, type):
        return isinstance(provider, spec.factory)
    # A factory function: the provider's class comes from the plugin's own package.
    module = type(provider).__module__
    return module == spec.module or module.startswith(spec.module + ".")


class SettingsOwnershipConformance:
    """Checks the settings ownership of the provider under test (see the module doc).

    The kind's suite supplies ``settings_kind`` and the ``settings_subject`` fixture
    (the provider instance under test).
    """

    settings_kind: ClassVar[Kind]
    settings_provider: ClassVar[str | None] = None
    """The registered provider name, when the instance under test is a wrapper."""

    @pytest.fixture
    def settings_specs(self, settings_subject: object) -> list[ProviderSpec]:
        """The registered providers whose settings class the instance was built from."""
        plugins = Plugins()
        if self.settings_provider is not None:
            return [plugins.get(self.settings_kind, self.settings_provider)]
        specs: list[ProviderSpec] = []
        for ref in plugins.available(self.settings_kind):
            try:
                spec = plugins.get(self.settings_kind, ref.name)
            except Exception:  # noqa: S112 - another plugin's failure is not this one's
                continue
            if _matches(spec, settings_subject):
                specs.append(spec)
        if not specs:
            pytest.fail(
                f"{type(settings_subject).__qualname__} is not a registered "
                f"{self.settings_kind} provider: install the plugin (its entry point), or "
                "name the registered provider in the test class's settings_provider"
            )
        return specs

    @pytest.mark.conformance("settings", "ownership")
    def test_settings_ownership(self, settings_specs: list[ProviderSpec]) -> None:
        """No field that says where data lives, or which server, role, path or key is
        used, is tenant-owned; a tenant-owned URL is a ``PublicHttpsUrl``."""
        for spec in settings_specs:
            problems = ownership_problems(spec.settings)
            assert not problems, f"{spec.kind} provider {spec.name!r}: " + "; ".join(problems)

    @pytest.mark.conformance("settings", "ownership")
    def test_the_schema_shows_the_tenant_owned_fields(
        self, settings_specs: list[ProviderSpec]
    ) -> None:
        """What ``tenantkit secret schema`` shows agrees with the declaration."""
        for spec in settings_specs:
            properties = spec.settings.model_json_schema()["properties"]
            shown = {n for n, p in properties.items() if p.get(OWNER_SCHEMA_KEY) == "tenant"}
            assert shown == tenant_owned_fields(spec.settings), spec.name
