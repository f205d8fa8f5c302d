"""What a plugin registers: provider specs, and the context a factory receives."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from tenantkit.db import Database, DbCapability, Schema
from tenantkit.errors import InvalidPlugin
from tenantkit.llm import LLM, LLMCapability
from tenantkit.retry import RetryPolicy
from tenantkit.settings import ProviderSettings
from tenantkit.storage import ObjectStore, StorageCapability

__all__ = [
    "KINDS",
    "PROVIDER_NAME",
    "Kind",
    "ProviderContext",
    "ProviderSpec",
    "Register",
]

Kind = Literal["db", "llm", "storage"]
KINDS: tuple[Kind, ...] = ("db", "llm", "storage")

#: Provider names: lowercase letters, digits and single hyphens (``azure-openai``).
PROVIDER_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")

_INTERFACE: dict[Kind, type] = {"db": Database, "llm": LLM, "storage": ObjectStore}
_CAPABILITY: dict[Kind, type[enum.StrEnum]] = {
    "db": DbCapability,
    "llm": LLMCapability,
    "storage": StorageCapability,
}


@dataclass(frozen=True)
class ProviderContext:
    """What the core tells a provider factory besides its settings."""

    tenant_id: str
    """The tenant this instance serves (for logs and metrics; scoping is the core's job)."""
    provider: str
    schema: Schema = field(default_factory=Schema)
    """The application's declared secondary indexes (database providers)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """The deployment's one retry policy. A provider that must loop inside one call
    (unprocessed batch items, the parts of an upload) retries each step with it,
    ``context.retry.call(step)``; the core does not retry such calls again."""


@dataclass(frozen=True)
class ProviderSpec:
    """One registered provider."""

    kind: Kind
    name: str
    factory: Callable[[Any, ProviderContext], Any]
    settings: type[ProviderSettings]
    capabilities: frozenset[str]
    description: str = ""
    module: str = ""
    distribution: str | None = None
    version: str | None = None


class Register(Protocol):
    """The ``register`` callable handed to the collector hooks."""

    def __call__(
        self,
        name: str,
        factory: Callable[[Any, ProviderContext], Any],
        settings: type[ProviderSettings],
        *,
        capabilities: Iterable[str] | None = None,
        description: str = "",
    ) -> None: ...


def make_spec(
    kind: Kind,
    name: str,
    factory: Callable[[Any, ProviderContext], Any],
    settings: type[ProviderSettings],
    capabilities: Iterable[str] | None,
    description: str,
    module: str,
) -> ProviderSpec:
    """Validate one ``register(...)`` call and turn it into a :class:`ProviderSpec`."""
    where = f"plugin module {module!r} registering {kind} provider {name!r}"
    if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
        raise InvalidPlugin(f"{where}: provider names are lowercase words joined by hyphens")
    if not (isinstance(settings, type) and issubclass(settings, ProviderSettings)):
        raise InvalidPlugin(
            f"{where}: settings must be a tenantkit.ProviderSettings subclass", provider=name
        )
    if not callable(factory):
        raise InvalidPlugin(f"{where}: factory is not callable", provider=name)
    if isinstance(factory, type) and not issubclass(factory, _INTERFACE[kind]):
        raise InvalidPlugin(
            f"{where}: {factory.__name__} does not implement {_INTERFACE[kind].__name__}",
            provider=name,
        )
    declared = capabilities if capabilities is not None else getattr(factory, "capabilities", ())
    allowed = _CAPABILITY[kind]
    caps: set[str] = set()
    for cap in declared:
        try:
            caps.add(str(allowed(cap)))
        except ValueError:
            known = ", ".join(c.value for c in allowed)
            raise InvalidPlugin(
                f"{where}: unknown capability {cap!r} (known: {known})", provider=name
            ) from None
    return ProviderSpec(
        kind=kind,
        name=name,
        factory=factory,
        settings=settings,
        capabilities=frozenset(caps),
        description=description,
        module=module,
    )
