"""The provider conformance kit: one suite per provider kind, inherited by a test class.

A provider package runs the whole suite by subclassing and supplying one fixture::

    from tenantkit.testing import DatabaseConformance

    class TestMemoryDatabase(DatabaseConformance):
        @pytest.fixture
        def database(self):  # may take the fixture that starts your test server
            context = ProviderContext(
                tenant_id="conformance", provider="memory", schema=CONFORMANCE_SCHEMA
            )
            db = MemoryDatabase(MemorySettings(), context)
            db.ensure_schema(CONFORMANCE_SCHEMA)
            yield db
            db.close()

(``MemoryDatabase`` is the complete example of the plugin guide, docs/writing-plugins.md.)

* :class:`DatabaseConformance` needs ``database`` (a :class:`tenantkit.Database` whose
  schema includes :data:`CONFORMANCE_SCHEMA`).
* :class:`StorageConformance` needs ``object_store`` (a :class:`tenantkit.ObjectStore`).
  Set ``presign_enforced = False`` when the test server does not check signatures.
* :class:`LLMConformance` needs ``llm`` (a :class:`tenantkit.LLM`) and ``llm_script``
  (an :class:`LLMScript` that makes the provider's mocked API answer as told).

Sections are gated on the capabilities the provider declares, both ways: a declared
capability must work, an undeclared one must raise :class:`tenantkit.errors.Unsupported`.
The suites reach the provider through the core's tenant-scoped wrappers, with two
tenants on the same provider instance, so isolation is checked on every provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "CONFORMANCE_SCHEMA",
    "DatabaseConformance",
    "LLMConformance",
    "LLMScript",
    "StorageConformance",
]

if TYPE_CHECKING:
    from tenantkit.testing.database import CONFORMANCE_SCHEMA, DatabaseConformance
    from tenantkit.testing.llm import LLMConformance, LLMScript
    from tenantkit.testing.storage import StorageConformance

_WHERE = {
    "CONFORMANCE_SCHEMA": "tenantkit.testing.database",
    "DatabaseConformance": "tenantkit.testing.database",
    "StorageConformance": "tenantkit.testing.storage",
    "LLMConformance": "tenantkit.testing.llm",
    "LLMScript": "tenantkit.testing.llm",
}


def __getattr__(name: str) -> Any:
    # Lazy so that the pytest plugin entry point costs nothing in unrelated projects.
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(name)
