"""The database conformance suite: what every :class:`tenantkit.Database` must do.

How to run the conformance kit
------------------------------

Subclass :class:`DatabaseConformance` in a test module of the provider package and
supply one fixture, ``database``: a provider instance whose schema includes
:data:`CONFORMANCE_SCHEMA`. Every test of the suite then runs against it::

    import pytest
    from tenantkit import ProviderContext
    from tenantkit.testing import CONFORMANCE_SCHEMA, DatabaseConformance

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

``MemoryDatabase`` is the complete example of the plugin guide (docs/writing-plugins.md),
whose tests run this suite against it.

Run it like any other test. Every test of the kit carries the marker
``conformance("db", section)`` (sections: ``crud``, ``conditions``, ``update``,
``query``, ``cursors``, ``index``, ``batch``, ``transactions``, ``ttl``,
``isolation``, ``input``, ``capabilities``), so ``pytest -m conformance`` selects
the kit alone and ``pytest -m "not conformance"`` the package's own tests.

Each section is a mixin in a module of its own (``crud``, ``conditions``, ``update``,
``query``, ``cursors``, ``index``, ``batch``, ``transactions``, ``ttl``,
``isolation``, ``bad_input``, ``capabilities``), all built on :class:`DatabaseSuite`,
which holds the fixtures; :class:`DatabaseConformance` inherits them all. A provider
under construction may inherit a few sections (``class TestMine(CrudTests,
QueryTests)``) until it is ready for the whole suite, the way fsspec's abstract
tests are composed.

The suite reaches the provider through :class:`tenantkit.TenantDatabase`, twice:
two tenants with random ids (the second id starts with the first, so a scope made
of a bare string prefix shows up) share the one provider instance. The instance
may therefore be shared between tests and hold other data: every test works in
fresh tenants. Sections of optional capabilities are gated on
``type(database).capabilities`` both ways: a declared capability must work, an
undeclared one must raise :class:`~tenantkit.errors.Unsupported` from the wrapper
and from the raw provider method.

Class attributes a subclass may change:

* ``eventual_seconds``: how long index queries may lag behind writes (secondary
  indexes of some services are eventually consistent); 5 s by default.

The whole suite makes about 750 provider calls and the TTL section waits about
two seconds for an expiry, so it runs in well under half a minute against a real
remote database.
"""

from __future__ import annotations

from tenantkit.testing.database._support import CONFORMANCE_SCHEMA, DatabaseSuite
from tenantkit.testing.database.bad_input import InputTests
from tenantkit.testing.database.batch import BatchTests
from tenantkit.testing.database.capabilities import CapabilityTests
from tenantkit.testing.database.conditions import ConditionTests
from tenantkit.testing.database.crud import CrudTests
from tenantkit.testing.database.cursors import CursorTests
from tenantkit.testing.database.export import ExportConformance
from tenantkit.testing.database.index import IndexTests
from tenantkit.testing.database.isolation import IsolationTests
from tenantkit.testing.database.query import QueryTests
from tenantkit.testing.database.transactions import TransactionTests
from tenantkit.testing.database.ttl import TtlTests
from tenantkit.testing.database.update import UpdateTests

__all__ = [
    "CONFORMANCE_SCHEMA",
    "BatchTests",
    "CapabilityTests",
    "ConditionTests",
    "CrudTests",
    "CursorTests",
    "DatabaseConformance",
    "DatabaseSuite",
    "IndexTests",
    "InputTests",
    "IsolationTests",
    "QueryTests",
    "TransactionTests",
    "TtlTests",
    "UpdateTests",
]


class DatabaseConformance(
    CrudTests,
    ConditionTests,
    UpdateTests,
    QueryTests,
    CursorTests,
    IndexTests,
    BatchTests,
    TransactionTests,
    TtlTests,
    IsolationTests,
    InputTests,
    CapabilityTests,
    ExportConformance,
):
    """The conformance suite for database providers. Supply the ``database`` fixture."""
