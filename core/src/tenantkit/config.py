"""The tenant secret: its schema, its validation, and the validated :class:`TenantConfig`.

A tenant secret is a JSON object::

    {
      "schema_version": 1,
      "tenant_id": "acme",
      "plan": "standard",
      "db":      {"provider": "dynamodb", "table": "acme-data", "region": "eu-west-1"},
      "llm":     {"provider": "claude", "api_key": "sk-ant-...", "model": "claude-sonnet-4-5"},
      "storage": {"provider": "s3", "bucket": "acme-files", "region": "eu-west-1"},
      "limits":   {"requests_per_minute": 600},
      "features": {"image_generation": true},
      "branding": {"display_name": "Acme"}
    }

Each provider section is validated by the settings model its plugin registered, so
only the three named plugins are imported. Unknown fields are errors everywhere, and
every error names its field path (``llm.api_key``). Error messages never quote input
values, so a credential put in the wrong field is not echoed back.
"""

# Annotations are evaluated at class definition (no ``from __future__ import
# annotations``): pydantic would otherwise compile each field's annotation from its
# text when the model is defined, a cost paid on every cold start.

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, create_model

from tenantkit.errors import FieldError, PluginError, ProviderNotFound, SecretValidationError
from tenantkit.identifiers import TENANT_ID
from tenantkit.plugins import Plugins
from tenantkit.registry import KINDS, Kind, ProviderSpec
from tenantkit.settings import (
    OWNER_SCHEMA_KEY,
    Owner,
    ProviderSettings,
    field_owner,
    secret_values,
)
from tenantkit.validation import field_errors

__all__ = [
    "SCHEMA_VERSION",
    "Branding",
    "Limits",
    "ProviderConfig",
    "TenantConfig",
    "deep_merge",
    "json_schema",
    "merge_secret",
    "parse_secret_text",
    "parse_tenant_config",
    "provider_specs",
]

SCHEMA_VERSION = 1

# Limits and Branding are validated inside the secret's document (``_Document``), whose
# validator holds theirs: their own are built only if they are validated alone.
_strict = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Limits(BaseModel):
    """Per-tenant limits the runtime enforces. ``None`` means no limit."""

    model_config = _strict

    requests_per_minute: int | None = Field(default=None, gt=0)
    llm_tokens_per_day: int | None = Field(default=None, gt=0)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    storage_quota_bytes: int | None = Field(default=None, gt=0)


class Branding(BaseModel):
    """What the tenant's users see. Never secret."""

    model_config = _strict

    display_name: str | None = Field(default=None, max_length=100)
    logo_url: str | None = Field(default=None, max_length=2000, pattern=r"^https://")
    primary_color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    support_email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    )


class _Document(BaseModel):
    """The secret's top level, before the provider sections are validated."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    tenant_id: str = Field(pattern=f"^{TENANT_ID.pattern}$")
    plan: str = Field(default="standard", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    db: dict[str, Any]
    llm: dict[str, Any]
    storage: dict[str, Any]
    # The defaults need no validation: their own validators are built only when used.
    limits: Limits = Field(default_factory=Limits.model_construct)
    features: dict[str, bool] = Field(default_factory=dict)
    branding: Branding = Field(default_factory=Branding.model_construct)


class ProviderConfig(BaseModel):
    """One validated provider section: the provider's name and its settings."""

    # Made by parse_tenant_config from parts it validated (``model_construct``): the
    # validator is built only for a ProviderConfig validated elsewhere.
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    kind: Kind
    provider: str
    settings: SerializeAsAny[ProviderSettings]

    def __repr__(self) -> str:
        return f"ProviderConfig(kind={self.kind!r}, provider={self.provider!r})"


class TenantConfig(BaseModel):
    """A tenant's validated configuration. Credentials stay ``SecretStr``."""

    # Made by parse_tenant_config from parts it validated (``model_construct``): the
    # validator is built only for a TenantConfig validated elsewhere.
    model_config = ConfigDict(frozen=True, defer_build=True)

    tenant_id: str
    schema_version: int = SCHEMA_VERSION
    plan: str
    db: ProviderConfig
    llm: ProviderConfig
    storage: ProviderConfig
    limits: Limits
    features: dict[str, bool]
    branding: Branding
    version: str
    """Identifies this version of the configuration (changes on every edit)."""

    def section(self, kind: Kind) -> ProviderConfig:
        section: ProviderConfig = getattr(self, kind)
        return section

    def secret_values(self) -> list[str]:
        """Every credential in the configuration, for scrubbing error text."""
        return [s for kind in KINDS for s in secret_values(self.section(kind).settings)]

    def public(self) -> dict[str, Any]:
        """The non-secret part: plan, providers by name, limits, features, branding."""
        return {
            "tenant_id": self.tenant_id,
            "plan": self.plan,
            "providers": {kind: self.section(kind).provider for kind in KINDS},
            "limits": self.limits.model_dump(),
            "features": dict(self.features),
            "branding": self.branding.model_dump(exclude_none=True),
        }

    def __repr__(self) -> str:
        providers = ", ".join(f"{k}={self.section(k).provider}" for k in KINDS)
        return f"TenantConfig(tenant_id={self.tenant_id!r}, version={self.version!r}, {providers})"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: objects merge key by key, anything else replaces.

    A provider section whose ``provider`` changes replaces the default section whole,
    so defaults meant for one provider never leak into another's settings.
    """
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            if key in KINDS and old.get("provider") != value.get("provider", old.get("provider")):
                merged[key] = dict(value)
            else:
                merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


class Plan(BaseModel):
    """A named plan in the deployment's defaults: the limits and features it grants."""

    # Built on first use: only deployments whose defaults declare plans need it.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    limits: dict[str, Any] = Field(default_factory=dict)
    features: dict[str, bool] = Field(default_factory=dict)


def merge_secret(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """A tenant's own document over its plan over the deployment's defaults.

    The defaults may declare named plans (``"plans": {"free": {"limits": {...},
    "features": {...}}}``); the tenant's ``plan`` (or the defaults' ``plan``) picks
    one, whose limits and features apply before the tenant's own values, which
    override them. Without ``plans`` this is :func:`deep_merge`.

    Raises:
        SecretValidationError: the plans are malformed, or the plan is not one of them.
    """
    plans = defaults.get("plans")
    base = {k: v for k, v in defaults.items() if k != "plans"}
    if plans is None:
        return deep_merge(base, own)
    if not isinstance(plans, Mapping):
        raise SecretValidationError([FieldError("plans", "must be an object of named plans")])
    name = own.get("plan", base.get("plan", "standard"))
    chosen = plans.get(name) if isinstance(name, str) else None
    if chosen is None:
        names = ", ".join(sorted(str(n) for n in plans)) or "none"
        raise SecretValidationError(
            [FieldError("plan", f"not one of the deployment's plans ({names})")]
        )
    try:
        plan = Plan.model_validate(chosen)
    except ValidationError as exc:
        raise SecretValidationError(field_errors(exc, prefix=f"plans.{name}")) from None
    with_plan = deep_merge(base, {"limits": plan.limits, "features": plan.features})
    return deep_merge(with_plan, own)


def parse_secret_text(text: str, *, source: str) -> dict[str, Any]:
    """Decode a secret's JSON text. Errors give the position, never the content."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SecretValidationError(
            [FieldError("", f"not valid JSON (line {exc.lineno}, column {exc.colno})")],
            source=source,
        ) from None
    if not isinstance(raw, dict):
        raise SecretValidationError(
            [FieldError("", f"must be a JSON object, not {type(raw).__name__}")], source=source
        )
    return raw


def parse_tenant_config(
    raw: Mapping[str, Any],
    *,
    plugins: Plugins,
    version: str = "",
    source: str | None = None,
) -> TenantConfig:
    """Validate a (merged) secret document, loading only the plugins it names.

    Raises:
        SecretValidationError: listing every problem with its field path. A provider
            that is not installed is one of them (at ``{kind}.provider``), and the
            :class:`ProviderNotFound` is the error's ``__cause__``.
        PluginError: a named plugin is installed but cannot be loaded.
    """
    problems: list[FieldError] = []
    missing: ProviderNotFound | None = None
    try:
        doc: _Document | None = _Document.model_validate(raw)
    except ValidationError as exc:
        problems.extend(field_errors(exc, model=_Document))
        doc = None
    sections: dict[str, ProviderConfig] = {}
    for kind in KINDS:
        section = raw.get(kind)
        if not isinstance(section, Mapping):
            continue  # reported by _Document
        try:
            sections[kind] = _parse_section(kind, section, plugins)
        except SecretValidationError as exc:
            problems.extend(exc.errors)
        except ProviderNotFound as exc:
            problems.append(FieldError(f"{kind}.provider", exc.message))
            missing = missing or exc
    if problems or doc is None:
        raise SecretValidationError(problems, source=source) from missing
    # Every part is validated above (the document by _Document, each section by its
    # provider's settings model): assembled without validating them again.
    return TenantConfig.model_construct(
        tenant_id=doc.tenant_id,
        schema_version=doc.schema_version,
        plan=doc.plan,
        db=sections["db"],
        llm=sections["llm"],
        storage=sections["storage"],
        limits=doc.limits,
        features=doc.features,
        branding=doc.branding,
        version=version,
    )


def _parse_section(kind: Kind, section: Mapping[str, Any], plugins: Plugins) -> ProviderConfig:
    name = section.get("provider")
    if not isinstance(name, str) or not name:
        raise SecretValidationError([FieldError(f"{kind}.provider", "field required")])
    spec = plugins.get(kind, name)
    settings = {k: v for k, v in section.items() if k != "provider"}
    try:
        model = spec.settings.model_validate(settings)
    except ValidationError as exc:
        raise SecretValidationError(field_errors(exc, prefix=kind, model=spec.settings)) from None
    return ProviderConfig.model_construct(kind=kind, provider=name, settings=model)


def json_schema(plugins: Plugins) -> dict[str, Any]:
    """The JSON Schema of a tenant secret with every installed provider's section.

    This imports every installed plugin (it is for tooling, not for the request path);
    plugins that fail to load are left out. Every property of a provider section
    carries its owner under ``x-tenantkit-owner`` (``operator`` or ``tenant``).
    """
    fields: dict[str, Any] = {}
    owners: dict[str, dict[str, str]] = {}
    for kind in KINDS:
        variants: list[type[BaseModel]] = []
        for spec in provider_specs(plugins, kind):
            section = _section_model(spec)
            variants.append(section)
            owners[section.__name__] = {
                name: field_owner(spec.settings, name).value for name in spec.settings.model_fields
            }
        if not variants:
            fields[kind] = (dict[str, Any], ...)
            continue
        union: Any = variants[0]
        for variant in variants[1:]:
            union = union | variant
        fields[kind] = (union, Field(..., discriminator="provider"))
    model = create_model(
        "TenantSecret",
        __base__=_Document,
        **fields,
    )
    schema: dict[str, Any] = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    for name, section_owners in owners.items():
        properties = schema.get("$defs", {}).get(name, {}).get("properties", {})
        for field, prop in properties.items():
            prop[OWNER_SCHEMA_KEY] = section_owners.get(field, Owner.OPERATOR.value)
    return schema


def provider_specs(plugins: Plugins, kind: Kind) -> list[ProviderSpec]:
    """Every installed provider of ``kind`` that loads, by name (imports them all)."""
    specs: list[ProviderSpec] = []
    for ref in plugins.available(kind):
        try:
            specs.append(plugins.get(kind, ref.name))
        except PluginError:
            continue
    return specs


def _section_model(spec: ProviderSpec) -> type[BaseModel]:
    title = "".join(part.capitalize() for part in spec.name.split("-"))
    provider: Any = Literal[spec.name]  # a Literal built at run time
    section: type[BaseModel] = create_model(
        f"{title}{spec.kind.capitalize()}Section",
        __base__=spec.settings,
        provider=(provider, ...),
    )
    return section
