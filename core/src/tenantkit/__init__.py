"""tenantkit: one SaaS, many tenants, each with its own database, LLM and object storage.

The public API is what this module exports. Provider plugins use
:data:`hookimpl`, :class:`ProviderSettings`, :data:`Secret`, the provider
interfaces (:class:`Database`, :class:`ObjectStore`, :class:`LLM`) and the errors in
:mod:`tenantkit.errors`; applications use :class:`Resolver` and the tenant-scoped
``db`` / ``storage`` / ``llm`` it hands out.

Names are imported on first use (PEP 562): ``import tenantkit`` or ``from
tenantkit.errors import ...`` costs only what is used, which keeps Lambda cold starts
of functions that need little of the API (the authorizer) short.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tenantkit import errors
    from tenantkit.config import TenantConfig
    from tenantkit.db import (
        Database,
        DbCapability,
        IfAbsent,
        IfExists,
        IfVersion,
        IndexSpec,
        Item,
        Key,
        Page,
        Schema,
        SortKey,
        TxCheck,
        TxDelete,
        TxPut,
        TxUpdate,
    )
    from tenantkit.hookspecs import hookimpl
    from tenantkit.llm import (
        LLM,
        ChatRequest,
        ChatResponse,
        ChatStream,
        EmbeddingRequest,
        EmbeddingResponse,
        ImagePart,
        ImageRequest,
        ImageResponse,
        LLMCapability,
        Message,
        TextPart,
        Tool,
        ToolCall,
        Usage,
    )
    from tenantkit.registry import ProviderContext, ProviderSpec
    from tenantkit.resolver import Resolver, Tenant
    from tenantkit.retry import RetryPolicy
    from tenantkit.scoped import TenantDatabase, TenantLLM, TenantStorage
    from tenantkit.settings import Owner, ProviderSettings, PublicHttpsUrl, Secret, TenantOwned
    from tenantkit.sources import DirectorySource, SecretsManagerSource
    from tenantkit.storage import Listing, ObjectInfo, ObjectStore, StorageCapability

__version__ = "0.1.0"

#: Public name → the module that defines it (``errors`` is the module itself).
_EXPORTS: dict[str, str] = {
    "errors": "tenantkit.errors",
    "TenantConfig": "tenantkit.config",
    "Database": "tenantkit.db",
    "DbCapability": "tenantkit.db",
    "IfAbsent": "tenantkit.db",
    "IfExists": "tenantkit.db",
    "IfVersion": "tenantkit.db",
    "IndexSpec": "tenantkit.db",
    "Item": "tenantkit.db",
    "Key": "tenantkit.db",
    "Page": "tenantkit.db",
    "Schema": "tenantkit.db",
    "SortKey": "tenantkit.db",
    "TxCheck": "tenantkit.db",
    "TxDelete": "tenantkit.db",
    "TxPut": "tenantkit.db",
    "TxUpdate": "tenantkit.db",
    "hookimpl": "tenantkit.hookspecs",
    "ChatRequest": "tenantkit.llm",
    "ChatResponse": "tenantkit.llm",
    "ChatStream": "tenantkit.llm",
    "EmbeddingRequest": "tenantkit.llm",
    "EmbeddingResponse": "tenantkit.llm",
    "ImagePart": "tenantkit.llm",
    "ImageRequest": "tenantkit.llm",
    "ImageResponse": "tenantkit.llm",
    "LLM": "tenantkit.llm",
    "LLMCapability": "tenantkit.llm",
    "Message": "tenantkit.llm",
    "TextPart": "tenantkit.llm",
    "Tool": "tenantkit.llm",
    "ToolCall": "tenantkit.llm",
    "Usage": "tenantkit.llm",
    "ProviderContext": "tenantkit.registry",
    "ProviderSpec": "tenantkit.registry",
    "Resolver": "tenantkit.resolver",
    "Tenant": "tenantkit.resolver",
    "RetryPolicy": "tenantkit.retry",
    "TenantDatabase": "tenantkit.scoped",
    "TenantLLM": "tenantkit.scoped",
    "TenantStorage": "tenantkit.scoped",
    "ProviderSettings": "tenantkit.settings",
    "Secret": "tenantkit.settings",
    "Owner": "tenantkit.settings",
    "TenantOwned": "tenantkit.settings",
    "PublicHttpsUrl": "tenantkit.settings",
    "DirectorySource": "tenantkit.sources",
    "SecretsManagerSource": "tenantkit.sources",
    "Listing": "tenantkit.storage",
    "ObjectInfo": "tenantkit.storage",
    "ObjectStore": "tenantkit.storage",
    "StorageCapability": "tenantkit.storage",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tenantkit' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"tenantkit.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "LLM",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "Database",
    "DbCapability",
    "DirectorySource",
    "EmbeddingRequest",
    "EmbeddingResponse",
    "IfAbsent",
    "IfExists",
    "IfVersion",
    "ImagePart",
    "ImageRequest",
    "ImageResponse",
    "IndexSpec",
    "Item",
    "Key",
    "LLMCapability",
    "Listing",
    "Message",
    "ObjectInfo",
    "ObjectStore",
    "Owner",
    "Page",
    "ProviderContext",
    "ProviderSettings",
    "ProviderSpec",
    "PublicHttpsUrl",
    "Resolver",
    "RetryPolicy",
    "Schema",
    "Secret",
    "SecretsManagerSource",
    "SortKey",
    "StorageCapability",
    "Tenant",
    "TenantConfig",
    "TenantDatabase",
    "TenantLLM",
    "TenantOwned",
    "TenantStorage",
    "TextPart",
    "Tool",
    "ToolCall",
    "TxCheck",
    "TxDelete",
    "TxPut",
    "TxUpdate",
    "Usage",
    "__version__",
    "errors",
    "hookimpl",
]
