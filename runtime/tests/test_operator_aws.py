"""The operator API as deployed on AWS, against the moto server: Cognito tokens
checked by the authorizer's Lambda handler, the operator function's Lambda handler
behind it (events built as API Gateway's HTTP API sends them), tenants' secrets in
Secrets Manager, the control plane in DynamoDB, tenants' data in DynamoDB and S3,
and the export of a deleted tenant in the operator's S3 bucket."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tenantkit.resolver import Resolver
from tenantkit.sources import SecretsManagerSource
from tenantkit_runtime import deployment
from tenantkit_runtime.functions import auth as auth_function
from tenantkit_runtime.functions import operator as operator_function
from tenantkit_runtime.local import gateway
from tenantkit_runtime.local.gateway import HttpRequest, HttpRoute
from tenantkit_runtime.userstore import reset_user_store
from testharness.moto import MotoServer

from .conftest import CognitoPool, _make_pool

PLANTED = "sk-planted-aws-operator-9876543210zyxwvu"
OPERATOR_ROUTE = HttpRoute("ANY", "/operator/{proxy+}", "operator")


class Deployment:
    """The deployment's AWS resources and the calls through both handlers."""

    def __init__(self, moto: MotoServer, pool: CognitoPool, prefix: str, bucket: str) -> None:
        self.moto = moto
        self.pool = pool
        self.prefix = prefix
        self.bucket = bucket
        self.answers: list[str] = []

    def call(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        *,
        route: HttpRoute = OPERATOR_ROUTE,
        query: str = "",
    ) -> tuple[int, Any]:
        """``method path`` as API Gateway would run it: the authorizer first, then the
        function of ``route`` (``None`` status 403 when the authorizer refuses)."""
        params = route.match(path) or {}
        content = b"" if body is None else json.dumps(body).encode()
        request = HttpRequest(
            method=method,
            raw_path=path,
            path=path,
            raw_query=query,
            headers=[
                ("authorization", f"Bearer {token}"),
                ("content-type", "application/json"),
                ("user-agent", "ops-cli/3"),
            ],
            body=content,
            source_ip="198.51.100.9",
            request_id=gateway.new_request_id(),
        )
        answer = auth_function.handler(
            gateway.http_authorizer_event(request, route, params, f"Bearer {token}"), None
        )
        self.answers.append(json.dumps(answer))
        context = gateway.simple_authorizer_answer(answer)
        if context is None:
            return 403, answer
        if route.function != "operator":
            return 200, context  # allowed: the tenant function is not the subject here
        result = operator_function.handler(
            gateway.http_event(request, route, params, context), None
        )
        self.answers.append(json.dumps(result))
        return result["statusCode"], json.loads(result["body"] or "null")

    def token(self, user: str) -> str:
        return self.pool.tokens[user]["id"]


@pytest.fixture
def aws(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Deployment]:
    name = f"op-{secrets.token_hex(3)}"
    pool = _make_pool(
        moto_server,
        name,
        {"ops": ("", ["operator"]), "alice": ("acme", ["admin", "operator"])},
    )
    prefix = f"op-{secrets.token_hex(4)}"
    bucket = f"exports-{secrets.token_hex(4)}"
    moto_server.client("s3").create_bucket(Bucket=bucket)
    endpoint = moto_server.endpoint_url
    control = {
        "provider": "dynamodb",
        "table": f"cp-{secrets.token_hex(4)}",
        "region": moto_server.region,
        "endpoint_url": endpoint,
    }
    environment = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": moto_server.region,
        "TENANTKIT_CACHE_DIR": str(tmp_path / "cache"),
        "TENANTKIT_SECRETS_PREFIX": prefix,
        "TENANTKIT_SECRETS_ENDPOINT_URL": endpoint,
        "TENANTKIT_CONTROL_PLANE": json.dumps(control),
        "TENANTKIT_SIGNING_KEY": secrets.token_urlsafe(32),
        "TENANTKIT_USER_POOL_ID": pool.pool_id,
        "TENANTKIT_USER_POOL_ENDPOINT_URL": endpoint,
        "TENANTKIT_OPERATOR_EXPORT": f"s3://{bucket}/deleted-tenants",
        "TENANTKIT_OPERATOR_EXPORT_ENDPOINT_URL": endpoint,
        "TENANTKIT_AUTH_ISSUERS": pool.issuer,
        "TENANTKIT_AUTH_CLIENT_IDS": pool.client_id,
        "TENANTKIT_AUTH_JWKS_URLS": json.dumps({pool.issuer: pool.jwks_url}),
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TENANTKIT_CONFIG_DIR", raising=False)
    monkeypatch.delenv("TENANTKIT_LOCAL_USERS", raising=False)
    deployment.reset()
    reset_user_store()
    auth_function.forget_verifier()
    deployment.control_plane().ensure_schema()
    try:
        yield Deployment(moto_server, pool, prefix, bucket)
    finally:
        deployment.reset()
        reset_user_store()
        auth_function.forget_verifier()


def _sub(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def _secret(moto: MotoServer) -> dict[str, Any]:
    aws = {"region": moto.region, "endpoint_url": moto.endpoint_url}
    bucket = f"acme-{secrets.token_hex(4)}"
    moto.client("s3").create_bucket(Bucket=bucket)
    return {
        "db": {"provider": "dynamodb", "table": f"acme-{secrets.token_hex(4)}", **aws},
        "llm": {"provider": "openai", "api_key": PLANTED, "model": "gpt-4o-mini"},
        "storage": {"provider": "s3", "bucket": bucket, **aws},
    }


def _seed(prefix: str, endpoint: str) -> None:
    source = SecretsManagerSource(prefix, endpoint_url=endpoint)
    resolver = Resolver(source, signing_key=b"k" * 32)
    try:
        tenant = resolver.resolve("acme")
        tenant.provider_instance("db").ensure_schema(tenant.schema)
        for n in range(40):
            tenant.db.put("notes", {"pk": f"u{n % 3}", "sk": f"n{n:03d}", "n": n})
        for n in range(3):
            tenant.storage.put(f"files/{n}.txt", f"file {n}".encode())
    finally:
        resolver.close()


def test_the_lifecycle_through_the_lambda_handlers(aws: Deployment) -> None:
    ops = aws.token("ops")
    body = {"tenant_id": "acme", "admin_email": "admin@acme.example", **_secret(aws.moto)}
    status, created = aws.call("POST", "/operator/tenants", ops, body)
    assert status == 201, created
    assert created["tenant"]["status"] == "active"
    assert created["admin_user_id"]
    status, again = aws.call("POST", "/operator/tenants", ops, body)
    assert (status, again["admin_user_id"]) == (200, created["admin_user_id"])
    sm = aws.moto.client("secretsmanager")
    stored = json.loads(sm.get_secret_value(SecretId=f"{aws.prefix}/tenants/acme")["SecretString"])
    assert stored["llm"]["api_key"] == PLANTED
    _seed(aws.prefix, aws.moto.endpoint_url)

    status, page = aws.call("GET", "/operator/tenants", ops)
    assert (status, [t["tenant_id"] for t in page["tenants"]]) == (200, ["acme"])
    status, shown = aws.call("GET", "/operator/tenants/acme", ops)
    assert shown["providers"] == {"db": "dynamodb", "llm": "openai", "storage": "s3"}

    # Suspended: the authorizer refuses the tenant's tokens (same process: at once).
    tenant_token = aws.pool.tokens["alice"]["id"]
    conversations = HttpRoute("ANY", "/conversations", "chat")
    assert aws.call("GET", "/conversations", tenant_token, route=conversations)[0] == 200
    assert aws.call("POST", "/operator/tenants/acme/suspend", ops)[0] == 200
    status, refusal = aws.call("GET", "/conversations", tenant_token, route=conversations)
    assert (status, refusal["context"]["error"]) == (403, "tenant_suspended")
    assert aws.call("POST", "/operator/tenants/acme/resume", ops)[0] == 200
    assert aws.call("GET", "/conversations", tenant_token, route=conversations)[0] == 200

    status, usage = aws.call("GET", "/operator/usage", ops, query="from=2026-01-01&to=2026-01-31")
    assert status == 200, usage
    (report,) = usage["tenants"]
    assert report["tenant_id"] == "acme"
    assert len(report["days"]) == 31

    # No export location: 503 with a clear error, and nothing removed.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TENANTKIT_OPERATOR_EXPORT")
        status, error = aws.call("DELETE", "/operator/tenants/acme", ops, {"confirm": "acme"})
    assert status == 503
    assert error["error"]["code"] == "export_not_configured"
    assert "TENANTKIT_OPERATOR_EXPORT" in error["error"]["message"]
    assert aws.call("GET", "/operator/tenants/acme", ops)[0] == 200

    status, deleted = aws.call("DELETE", "/operator/tenants/acme", ops, {"confirm": "acme"})
    assert status == 200, deleted
    assert (deleted["items"], deleted["objects"], deleted["users"]) == (40, 3, 1)
    assert deleted["export"].startswith(f"s3://{aws.bucket}/deleted-tenants/acme-deleted-")
    s3 = aws.moto.client("s3")
    listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix="deleted-tenants/")["Contents"]
    keys = {o["Key"].rsplit("/", 1)[1] for o in listed}
    assert {"manifest.json", "items.jsonl", "objects.jsonl"} <= keys
    manifest_key = next(o["Key"] for o in listed if o["Key"].endswith("/manifest.json"))
    manifest = json.loads(s3.get_object(Bucket=aws.bucket, Key=manifest_key)["Body"].read())
    assert manifest["items"]["count"] == 40
    assert manifest["objects"]["count"] == 3
    assert "DeletedDate" in sm.describe_secret(SecretId=f"{aws.prefix}/tenants/acme")
    idp = aws.moto.client("cognito-idp")
    remaining = {u["Username"] for u in idp.list_users(UserPoolId=aws.pool.pool_id)["Users"]}
    assert remaining == {"ops", "alice"}  # the created admin is gone, the pool's own stay
    assert aws.call("GET", "/operator/tenants/acme", ops)[0] == 404

    status, log = aws.call("GET", "/operator/audit", ops, query="limit=100")
    actions = [e["action"] for e in log["entries"]]
    assert actions[:2] == ["operator.tenant.show", "operator.tenant.delete"]
    assert "operator.tenant.create" in actions
    failed = [e for e in log["entries"] if e["details"].get("error") == "export_not_configured"]
    assert len(failed) == 1
    assert {e["actor"] for e in log["entries"]} == {_sub(ops)}  # the operator's Cognito sub
    assert log["entries"][0]["source_ip"] == "198.51.100.9"
    assert log["entries"][0]["user_agent"] == "ops-cli/3"

    for text in aws.answers:
        assert PLANTED not in text
        assert ops not in text


def test_roles_are_kept_apart_at_the_authorizer_and_the_function(aws: Deployment) -> None:
    ops = aws.token("ops")
    admin = aws.token("alice")  # acme's admin, and in the operator group too
    status, refused = aws.call("GET", "/operator/tenants", admin)
    assert (status, refused["error"]["code"]) == (403, "access_denied")
    status, refused = aws.call(
        "POST", "/operator/tenants", admin, {"tenant_id": "evil", "db": "sqlite"}
    )
    assert status == 403
    # The operator's token is refused by the authorizer on a tenant's routes.
    for path in ("/conversations", "/users", "/config"):
        route = HttpRoute("ANY", path, "chat")
        status, answer = aws.call("GET", path, ops, route=route)
        assert (status, answer["context"]["error"]) == (403, "access_denied")
    status, log = aws.call("GET", "/operator/audit", ops)
    refusals = [e for e in log["entries"] if e["action"] == "operator.refused"]
    assert [(e["actor"], e["tenant_id"]) for e in refusals] == [(_sub(admin), "acme")] * 2
    assert {e["details"]["attempted"] for e in refusals} == {
        "operator.tenants.list",
        "operator.tenant.create",
    }
