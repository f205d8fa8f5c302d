"""The ``db`` section of a tenant secret for the ``postgres`` provider."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tenantkit import ProviderSettings, Secret

__all__ = ["PostgresSettings"]

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

SslMode = Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]


class PostgresSettings(ProviderSettings):
    """Where the tenant's PostgreSQL database is and how to log in.

    Give either ``dsn`` (a libpq connection string or URI, kept secret because it may
    hold a password) or ``host`` with ``dbname`` and ``user``, plus ``password`` or
    ``iam_auth``. With ``iam_auth`` the password is a short-lived RDS IAM token made
    with the Lambda's AWS credentials (needs the ``iam`` extra, which brings boto3).
    """

    dsn: Secret | None = None
    host: str | None = None
    port: int = Field(default=5432, ge=1, le=65535)
    dbname: str | None = None
    user: str | None = None
    password: Secret | None = None
    sslmode: SslMode | None = None
    sslrootcert: str | None = Field(
        default=None,
        description=(
            "Path of the CA bundle for ``verify-ca`` / ``verify-full`` (the RDS bundle on RDS)."
        ),
    )

    schema_name: str | None = Field(
        default=None,
        description=(
            "The PostgreSQL schema holding tenantkit's tables; the search path when ``None``."
        ),
    )

    iam_auth: bool = Field(
        default=False,
        description="Log in with an RDS IAM authentication token instead of a password.",
    )
    region: str | None = Field(
        default=None,
        description=(
            "AWS region of the RDS instance for ``iam_auth`` (default: the Lambda's region)."
        ),
    )

    pool_size: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Most connections this tenant holds open in one process (a Lambda container).",
    )
    connect_timeout: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="Seconds to wait for a new connection or for a free one from the pool.",
    )
    statement_timeout: float | None = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds after which the server cancels a statement (``None``: the server's default)."
        ),
    )
    lock_timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a statement may wait for a row lock (``None``: the server's default).",
    )
    max_idle: float = Field(
        default=300.0, gt=0, description="Seconds an unused pooled connection stays open."
    )
    prepared_statements: bool = Field(
        default=True,
        description=(
            "Let the driver prepare frequent statements; turn off behind PgBouncer in transaction"
            " mode or RDS Proxy."
        ),
    )

    @field_validator("schema_name")
    @classmethod
    def _check_schema_name(cls, value: str | None) -> str | None:
        if value is not None and not _SCHEMA_NAME.fullmatch(value):
            raise ValueError(
                "use 1-63 lowercase letters, digits and underscores, not starting with a digit"
            )
        return value

    @model_validator(mode="after")
    def _check_target(self) -> PostgresSettings:
        if self.dsn is not None:
            given = [
                name
                for name in ("host", "dbname", "user", "password")
                if getattr(self, name) is not None
            ]
            if given:
                raise ValueError(f"give either dsn or {', '.join(given)}, not both")
            if self.iam_auth:
                raise ValueError("iam_auth needs host, dbname and user instead of dsn")
            return self
        missing = [name for name in ("host", "dbname", "user") if getattr(self, name) is None]
        if missing:
            raise ValueError(f"give dsn, or host, dbname and user (missing: {', '.join(missing)})")
        if self.iam_auth and self.password is not None:
            raise ValueError("give password or iam_auth, not both")
        if not self.iam_auth and self.password is None:
            raise ValueError("give password, or set iam_auth to log in with an RDS IAM token")
        return self
