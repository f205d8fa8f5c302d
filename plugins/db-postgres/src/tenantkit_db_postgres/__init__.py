"""PostgreSQL database provider for tenantkit.

Registers the ``postgres`` database provider (entry point ``tenantkit.db``). A tenant
selects it with a ``db`` section such as::

    {"provider": "postgres", "host": "db.example.com", "dbname": "app",
     "user": "tenant_acme", "password": "...", "sslmode": "verify-full"}

See :class:`PostgresSettings` for every setting and the package README for the schema.
"""

from __future__ import annotations

from tenantkit import hookimpl
from tenantkit.registry import Register
from tenantkit_db_postgres.database import PostgresDatabase
from tenantkit_db_postgres.settings import PostgresSettings

__all__ = ["PostgresDatabase", "PostgresSettings", "register_db_providers"]


@hookimpl
def register_db_providers(register: Register) -> None:
    register(
        "postgres",
        PostgresDatabase,
        PostgresSettings,
        description="PostgreSQL (psycopg 3): JSONB items, expression indexes, pooled connections",
    )
