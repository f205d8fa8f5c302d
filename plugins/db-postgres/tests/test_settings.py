"""Tenant settings, registration, and RDS IAM tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic import ValidationError

from tenantkit import Secret, errors
from tenantkit.plugins import Plugins
from tenantkit_db_postgres import PostgresDatabase, PostgresSettings
from tenantkit_db_postgres._connections import Connections
from tenantkit_db_postgres._iam import REFRESH_AFTER, IamTokenSource

if TYPE_CHECKING:
    from .conftest import MakeDatabase, Scope


def _errors(fields: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        PostgresSettings.model_validate(fields)
    return str(caught.value)


def test_settings_take_a_dsn_or_connection_fields() -> None:
    by_dsn = PostgresSettings.model_validate({"dsn": "postgresql://u:pw@db/app"})
    assert by_dsn.pool_size == 2
    by_fields = PostgresSettings.model_validate(
        {"host": "db", "dbname": "app", "user": "u", "password": "pw", "sslmode": "verify-full"}
    )
    assert by_fields.port == 5432
    assert "give either dsn or host" in _errors({"dsn": "x", "host": "db"})
    assert "missing: dbname, user" in _errors({"host": "db", "password": "pw"})
    assert "give password, or set iam_auth" in _errors({"host": "h", "dbname": "d", "user": "u"})
    assert "password or iam_auth, not both" in _errors(
        {"host": "h", "dbname": "d", "user": "u", "password": "p", "iam_auth": True}
    )
    assert "iam_auth needs host" in _errors({"dsn": "x", "iam_auth": True})
    assert "schema_name" in _errors({"dsn": "x", "schema_name": 'a"; drop'})
    assert "pool_size" in _errors({"dsn": "x", "pool_size": 0})
    assert "sslmode" in _errors({"dsn": "x", "sslmode": "sometimes"})
    assert "Extra inputs are not permitted" in _errors({"dsn": "x", "unknown": 1})


def test_credentials_never_show() -> None:
    settings = PostgresSettings.model_validate(
        {"host": "db", "dbname": "app", "user": "u", "password": "pw-Planted-123"}
    )
    by_dsn = PostgresSettings.model_validate({"dsn": "postgresql://u:dsn-Planted-456@db/app"})
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(by_dsn),
        by_dsn.model_dump_json(),
        repr(Connections(settings, name="x")),
    ):
        assert "Planted" not in text


def test_the_plugin_registers_the_postgres_provider() -> None:
    spec = Plugins().get("db", "postgres")
    assert spec.factory is PostgresDatabase
    assert spec.settings is PostgresSettings
    assert spec.distribution == "tenantkit-db-postgres"
    assert spec.capabilities == {"transactions", "batch", "indexes", "ttl", "export"}


class _FakeRds:
    def __init__(self) -> None:
        self.calls = 0

    def generate_db_auth_token(self, **kwargs: Any) -> str:
        self.calls += 1
        return f"token-{self.calls}"


def test_iam_tokens_are_cached_and_refreshed_before_they_expire() -> None:
    now = [1000.0]
    rds = _FakeRds()
    source = IamTokenSource(
        host="db",
        port=5432,
        user="u",
        region="eu-west-1",
        clock=lambda: now[0],
        client_factory=lambda region: rds,
    )
    assert source.token() == "token-1"
    now[0] += REFRESH_AFTER - 1
    assert source.token() == "token-1"
    now[0] += 2
    assert source.token() == "token-2"
    assert "token-" not in repr(source)


def test_iam_tokens_are_presigned_by_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    source = IamTokenSource(host="db.example.com", port=5432, user="app", region="eu-west-1")
    token = source.token()
    assert token.startswith("db.example.com:5432/?Action=connect&DBUser=app")
    assert "X-Amz-Signature=" in token
    assert "X-Amz-Expires=900" in token


def test_an_iam_token_is_the_password_of_new_connections(
    make_db: MakeDatabase, scope: Scope, postgres_server: Any, admin: Any
) -> None:
    from psycopg import sql

    db = make_db(
        dsn=None,
        host=postgres_server.host,
        port=postgres_server.port,
        dbname="tenantkit_postgres_tests",
        user=postgres_server.password_user,
        iam_auth=True,
        sslmode="disable",
    )
    rds = _FakeRds()
    db._conns._iam._client_factory = lambda region: rds  # type: ignore[union-attr]
    token = db._conns._iam.token()  # type: ignore[union-attr]
    admin.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(postgres_server.password_user), sql.Literal(token)
        )
    )
    try:
        with pytest.raises(errors.PermissionDenied):  # logged in with the token; no rights
            scope(db).get("notes", "p")
        assert rds.calls == 1
    finally:
        admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(postgres_server.password_user),
                sql.Literal(postgres_server.password),
            )
        )


def test_secret_fields_are_secrets() -> None:
    fields = PostgresSettings.model_fields
    assert fields["dsn"].annotation == Secret | None
    assert fields["password"].annotation == Secret | None
