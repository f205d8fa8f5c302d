"""What a plugin registers: provider specs, and the context a factory receives."""

from __future__ import annotations

import enum
import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tenantkit.errors import InvalidPlugin
from tenantkit.retry import RetryPolicy
from tenantkit.settings import ProviderSettings

if TYPE_CHECKING:
    from tenantkit.db import Schema

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

# Each kind's interface module is imported when a provider of that kind registers, not
# with this module: an LLM-only program never loads the database or storage interfaces.
_INTERFACE: dict[Kind, tuple[str, str, str]] = {
    "db": ("tenantkit.db", "Database", "DbCapability"),
    "llm": ("tenantkit.llm", "LLM", "LLMCapability"),
    "storage": ("tenantkit.storage", "ObjectStore", "StorageCapability"),
}


def _interface(kind: Kind) -> tuple[type, type[enum.StrEnum]]:
    """The interface class and the capability enum of ``kind``."""
    module, interface, capability = _INTERFACE[kind]
    imported = importlib.import_module(module)
    return getattr(imported, interface), getattr(imported, capability)


def _empty_schema() -> Schema:
    from tenantkit.db import Schema

    return Schema.model_construct()  # the empty schema: nothing to validate


@dataclass(frozen=True)
class ProviderContext:
    """What the core tells a provider factory besides its settings."""

    tenant_id: str
    """The tenant this instance serves (for logs and metrics; scoping is the core's job)."""
    provider: str
    schema: Schema = field(default_factory=_empty_schema)
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
    interface, allowed = _interface(kind)
    if isinstance(factory, type) and not issubclass(factory, interface):
        raise InvalidPlugin(
            f"{where}: {factory.__name__} does not implement {interface.__name__}",
            provider=name,
        )
    declared = capabilities if capabilities is not None else getattr(factory, "capabilities", ())
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


# Last, as it imports this module: loading the plugin machinery also spares pydantic
# its plugin scan before the first provider settings are built.
import tenantkit.plugins  # noqa: E402, F401
