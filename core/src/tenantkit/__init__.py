"""tenantkit: one SaaS, many tenants, each with its own database, LLM and object storage.

The public API is what this module exports. Provider plugins use
:data:`hookimpl`, :class:`ProviderSettings`, :data:`Secret`, the provider
interfaces (:class:`Database`, :class:`ObjectStore`, :class:`LLM`) and the errors in
:mod:`tenantkit.errors`; applications use :class:`Resolver` and the tenant-scoped
``db`` / ``storage`` / ``llm`` it hands out.
"""

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
from tenantkit.settings import ProviderSettings, Secret
from tenantkit.sources import DirectorySource, SecretsManagerSource
from tenantkit.storage import Listing, ObjectInfo, ObjectStore, StorageCapability

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "ChatRequest",
    "ChatResponse",
    "ChatStream",
    "Database",
    "DbCapability",
    "DirectorySource",
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
    "Page",
    "ProviderContext",
    "ProviderSettings",
    "ProviderSpec",
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
