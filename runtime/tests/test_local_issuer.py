"""The local token issuer and ``tenantkit token``."""

from __future__ import annotations

import argparse
import base64
import json
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tenantkit.errors import ConfigurationError, InvalidRequest
from tenantkit_runtime.auth import TokenVerifier
from tenantkit_runtime.commands import register_token
from tenantkit_runtime.local.issuer import LOCAL_ISSUER, LocalIssuer, default_key_dir

if TYPE_CHECKING:
    from .conftest import JwksServer


def _claims(token: str) -> dict[str, object]:
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")))


def test_the_key_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    key_dir = tmp_path / "deep" / "keys"
    first = LocalIssuer(key_dir)
    token = first.issue(tenant="acme", user="alice")
    key_file = key_dir / "issuer-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    assert sorted(p.name for p in key_dir.iterdir()) == ["issuer-key.pem"]
    second = LocalIssuer(key_dir)  # a later process: same key, same kid
    assert second.kid == first.kid
    assert second.jwks() == first.jwks()
    assert token.count(".") == 2


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        kids = set(pool.map(lambda _: LocalIssuer(tmp_path / "k").kid, range(4)))
    assert len(kids) == 1
    assert LocalIssuer(tmp_path / "k").kid in kids


def test_the_jwks_is_public_only(local_issuer: LocalIssuer) -> None:
    (jwk,) = local_issuer.jwks()["keys"]
    assert set(jwk) == {"kty", "n", "e", "alg", "use", "kid"}
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
    assert jwk["kid"] == local_issuer.kid
    pem = (local_issuer.key_dir / "issuer-key.pem").read_text()
    assert "PRIVATE KEY" in pem
    assert "PRIVATE" not in json.dumps(local_issuer.jwks())


def test_tokens_are_cognito_shaped(local_issuer: LocalIssuer) -> None:
    id_claims = _claims(local_issuer.issue(tenant="acme", user="alice", roles=["admin"], ttl=60))
    assert id_claims["iss"] == LOCAL_ISSUER
    assert id_claims["token_use"] == "id"
    assert id_claims["aud"] == local_issuer.client_id
    assert id_claims["sub"] == "alice"
    assert id_claims["cognito:username"] == "alice"
    assert id_claims["custom:tenant_id"] == "acme"
    assert id_claims["cognito:groups"] == ["admin"]
    assert id_claims["exp"] == id_claims["iat"] + 60  # type: ignore[operator]
    access = _claims(local_issuer.issue(tenant="acme", user="alice", token_use="access"))
    assert access["client_id"] == local_issuer.client_id
    assert "aud" not in access
    assert "cognito:groups" not in access


def test_bad_requests_are_refused(local_issuer: LocalIssuer) -> None:
    with pytest.raises(InvalidRequest, match="invalid tenant id"):
        local_issuer.issue(tenant="Not A Tenant", user="alice")
    with pytest.raises(ConfigurationError, match="ttl"):
        local_issuer.issue(tenant="acme", user="alice", ttl=0)
    with pytest.raises(ConfigurationError, match="user"):
        local_issuer.issue(tenant="acme", user="")


def test_a_broken_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "issuer-key.pem").write_text("not a key")
    with pytest.raises(ConfigurationError, match="PEM private key"):
        LocalIssuer(tmp_path).issue(tenant="acme", user="alice")


def test_default_key_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TENANTKIT_LOCAL_KEY_DIR", str(tmp_path / "x"))
    assert default_key_dir() == tmp_path / "x"
    monkeypatch.delenv("TENANTKIT_LOCAL_KEY_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_key_dir() == tmp_path / "data" / "tenantkit" / "local-issuer"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tenantkit")
    register_token(parser.add_subparsers())
    return parser


def test_token_command_prints_a_token_the_authorizer_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jwks_server: JwksServer
) -> None:
    args = _parser().parse_args(
        ["token", "--tenant", "acme", "--user", "alice", "--role", "admin", "--role", "member",
         "--ttl", "120", "--key-dir", str(tmp_path)]
    )  # fmt: skip
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    issuer = LocalIssuer(tmp_path)
    verifier = TokenVerifier(issuer.auth_settings(jwks_server.serve("/jwks", issuer.jwks())))
    identity = verifier.verify(token).identity
    assert (identity.tenant_id, identity.user_id, identity.roles) == (
        "acme",
        "alice",
        ("admin", "member"),
    )
    assert _claims(token)["exp"] == _claims(token)["iat"] + 120  # type: ignore[operator]


def test_token_command_needs_tenant_and_user(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(["token", "--user", "alice"])
    assert info.value.code == 2
    assert "--tenant" in capsys.readouterr().err


def test_token_command_issues_the_operators_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], jwks_server: JwksServer
) -> None:
    args = _parser().parse_args(
        ["token", "--operator", "--user", "op-1", "--key-dir", str(tmp_path)]
    )
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    assert "custom:tenant_id" not in _claims(token)
    issuer = LocalIssuer(tmp_path)
    verifier = TokenVerifier(issuer.auth_settings(jwks_server.serve("/jwks", issuer.jwks())))
    identity = verifier.verify(token).identity
    assert (identity.tenant_id, identity.user_id, identity.roles) == (None, "op-1", ("operator",))
    assert identity.is_operator
    with pytest.raises(SystemExit):
        _parser().parse_args(["token", "--operator", "--tenant", "acme", "--user", "x"])
