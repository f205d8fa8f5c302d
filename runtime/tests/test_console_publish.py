"""``tenantkit console publish`` against moto's CloudFormation and S3: the build
lands in the stack's console bucket with the right cache headers, and console.json
is written from the stack's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tenantkit.errors import ConfigurationError
from tenantkit_runtime.console_publish import IMMUTABLE, NO_CACHE, publish
from testharness.moto import MotoServer

_STACK_TEMPLATE = {
    "Resources": {"ConsoleBucket": {"Type": "AWS::S3::Bucket"}},
    "Outputs": {
        "HttpApiUrl": {"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/prod"},
        "WebSocketUrl": {"Value": "wss://def456.execute-api.us-east-1.amazonaws.com/prod"},
        "UserPoolClientId": {"Value": "1a2b3c4d5e"},
        "ConsoleBucketName": {"Value": {"Ref": "ConsoleBucket"}},
        "ConsoleDomain": {"Value": "app.example.com"},
    },
}


@pytest.fixture
def build(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<script src="/assets/index-0a1b.js"></script>')
    (dist / "assets" / "index-0a1b.js").write_text("export {};\n")
    (dist / "assets" / "index-9f8e.css").write_text("body{}\n")
    (dist / "favicon.svg").write_text("<svg/>")
    return dist


def test_publish_uploads_the_build_and_console_json(
    moto_server: MotoServer, build: Path, tmp_path: Path
) -> None:
    cloudformation, s3 = moto_server.client("cloudformation"), moto_server.client("s3")
    cloudformation.create_stack(StackName="acme-prod", TemplateBody=json.dumps(_STACK_TEMPLATE))
    report = publish(
        "acme-prod",
        dist=build,
        auth_domain="https://tenantkit.auth.us-east-1.amazoncognito.com",
        cloudformation=cloudformation,
        s3=s3,
    )
    objects = {o["Key"] for o in s3.list_objects_v2(Bucket=report.bucket)["Contents"]}
    assert objects == {
        "index.html",
        "favicon.svg",
        "assets/index-0a1b.js",
        "assets/index-9f8e.css",
        "console.json",
    }
    assert list(report.uploaded)[-1] == "index.html"  # after the assets it names
    js = s3.head_object(Bucket=report.bucket, Key="assets/index-0a1b.js")
    assert js["CacheControl"] == IMMUTABLE
    assert js["ContentType"].startswith("text/javascript")
    index = s3.head_object(Bucket=report.bucket, Key="index.html")
    assert index["CacheControl"] == NO_CACHE
    assert index["ContentType"] == "text/html; charset=utf-8"
    settings = s3.get_object(Bucket=report.bucket, Key="console.json")
    assert settings["CacheControl"] == NO_CACHE
    assert json.loads(settings["Body"].read()) == {
        "api": "https://abc123.execute-api.us-east-1.amazonaws.com/prod",
        "websocket": "wss://def456.execute-api.us-east-1.amazonaws.com/prod",
        "auth": {
            "authorize": "https://tenantkit.auth.us-east-1.amazoncognito.com/oauth2/authorize",
            "token": "https://tenantkit.auth.us-east-1.amazoncognito.com/oauth2/token",
            "revoke": "https://tenantkit.auth.us-east-1.amazoncognito.com/oauth2/revoke",
            "logout": "https://tenantkit.auth.us-east-1.amazoncognito.com/logout",
            "client_id": "1a2b3c4d5e",
            "scopes": "openid email profile",
            "callback": "https://app.example.com/callback",
            "signed_out": "https://app.example.com/signed-out",
        },
        "local": False,
        "deployment": "acme-prod",
    }


def test_publish_refuses_what_it_cannot_do(
    moto_server: MotoServer, build: Path, tmp_path: Path
) -> None:
    cloudformation, s3 = moto_server.client("cloudformation"), moto_server.client("s3")
    bare = {"Resources": _STACK_TEMPLATE["Resources"], "Outputs": {}}
    cloudformation.create_stack(StackName="no-console", TemplateBody=json.dumps(bare))
    domain = "https://tenantkit.auth.us-east-1.amazoncognito.com"
    with pytest.raises(ConfigurationError, match="has no console"):
        publish("no-console", dist=build, auth_domain=domain, cloudformation=cloudformation, s3=s3)
    with pytest.raises(ConfigurationError, match="cannot read stack"):
        publish("missing", dist=build, auth_domain=domain, cloudformation=cloudformation, s3=s3)
    with pytest.raises(ConfigurationError, match="no console build"):
        publish(
            "no-console",
            dist=tmp_path / "empty",
            auth_domain=domain,
            cloudformation=cloudformation,
            s3=s3,
        )
    cloudformation.create_stack(StackName="with", TemplateBody=json.dumps(_STACK_TEMPLATE))
    with pytest.raises(ConfigurationError, match="auth-domain"):
        publish(
            "with",
            dist=build,
            auth_domain="http://evil.example/path",
            cloudformation=cloudformation,
            s3=s3,
        )


def test_publish_finds_the_hosted_ui_in_the_stacks_outputs(
    moto_server: MotoServer, build: Path
) -> None:
    cloudformation, s3 = moto_server.client("cloudformation"), moto_server.client("s3")
    outputs = {
        **_STACK_TEMPLATE["Outputs"],
        "UserPoolDomainUrl": {"Value": "https://acme-login.auth.eu-west-1.amazoncognito.com"},
    }
    template = {"Resources": _STACK_TEMPLATE["Resources"], "Outputs": outputs}
    cloudformation.create_stack(StackName="hosted", TemplateBody=json.dumps(template))
    report = publish("hosted", dist=build, cloudformation=cloudformation, s3=s3)
    assert report.settings["auth"]["token"] == (
        "https://acme-login.auth.eu-west-1.amazoncognito.com/oauth2/token"
    )
    cloudformation.create_stack(StackName="plain", TemplateBody=json.dumps(_STACK_TEMPLATE))
    with pytest.raises(ConfigurationError, match="no Hosted UI domain: pass --auth-domain"):
        publish("plain", dist=build, cloudformation=cloudformation, s3=s3)
