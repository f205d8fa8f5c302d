"""End to end: a tenant whose secret names ``claude``, resolved by the core's resolver and
checked by ``tenantkit check``, with the Messages API mocked by respx.

The check runs in a fresh interpreter, so what it imports is exactly what a cold Lambda
container would: the claude plugin and no other LLM plugin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tenantkit import errors
from tenantkit.plugins import EntryPointIndex, Plugins
from tenantkit.resolver import Resolver
from tenantkit.sources import DirectorySource
from tests._end_to_end import Answer, tenantkit_with_api

BASE_URL = "https://api.anthropic.test"
API_KEY = "sk-ant-api03-PLANTED-end-to-end-0123456789"
# A Messages API answer (https://platform.claude.com/docs/en/api/messages).
MESSAGE: dict[str, Any] = {
    "id": "msg_01EndToEnd0000000000000",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 14, "output_tokens": 2},
}


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    directory = tmp_path / "config"
    directory.mkdir()
    secret = {
        "schema_version": 1,
        "tenant_id": "acme",
        "db": {"provider": "sqlite", "path": str(data / "acme.db")},
        "storage": {
            "provider": "local",
            "root": str(data / "files"),
            "signing_key": "local-signing-key-0123456789",
        },
        "llm": {
            "provider": "claude",
            "api_key": API_KEY,
            "model": "claude-sonnet-4-5",
            "base_url": BASE_URL,
        },
    }
    (directory / "acme.json").write_text(json.dumps(secret))
    return directory


def test_the_resolver_gives_the_tenant_a_claude_llm(config_dir: Path) -> None:
    resolver = Resolver(
        DirectorySource(config_dir),
        plugins=Plugins(EntryPointIndex(cache_dir=None)),
        signing_key=b"k" * 32,
    )
    try:
        tenant = resolver.resolve("acme")
        assert tenant.llm.provider == "claude"
        with respx.mock(base_url=BASE_URL) as api:
            route = api.post("/v1/messages").respond(
                200, headers={"request-id": "req_e2e"}, json=MESSAGE
            )
            reply = tenant.llm.chat(messages=[{"role": "user", "content": "Say ok"}])
            assert (reply.text, reply.provider, reply.request_id) == ("ok", "claude", "req_e2e")
            assert route.calls[0].request.headers["x-api-key"] == API_KEY

            echoed = {"type": "error", "error": {"type": "api_error", "message": API_KEY}}
            api.post("/v1/messages").mock(side_effect=lambda r: httpx.Response(500, json=echoed))
            with pytest.raises(errors.ProviderUnavailable) as info:
                tenant.llm.chat(messages=[{"role": "user", "content": "Say ok"}])
            assert API_KEY not in str(info.value)
    finally:
        resolver.close()


def _check(
    config_dir: Path, tmp_path: Path, answer: tuple[int, dict[str, Any]], *args: str
) -> tuple[dict[str, Any], str, str]:
    status, body = answer
    messages = Answer("POST", f"{BASE_URL}/v1/messages", status, body, {"request-id": "req_check"})
    run = tenantkit_with_api(
        tmp_path, [messages], "check", "acme", "--config-dir", str(config_dir), *args
    )
    llm_modules = [p for p in run.plugins if p.startswith("tenantkit_llm_")]
    outcome = {"status": run.status, "calls": run.calls[0], "llm_modules": llm_modules}
    return outcome, run.stdout, run.stderr


def test_tenantkit_check_imports_only_the_claude_llm_plugin(
    config_dir: Path, tmp_path: Path
) -> None:
    outcome, out, err = _check(config_dir, tmp_path, (200, MESSAGE), "--json")
    assert outcome["status"] == 0, err
    assert outcome["calls"] == 1
    assert outcome["llm_modules"] == ["tenantkit_llm_claude"]
    report = json.loads(out)
    assert report["ok"] is True
    checks = {p["kind"]: p for p in report["providers"]}
    assert checks["llm"]["provider"] == "claude"
    assert checks["llm"]["ok"] is True
    assert "claude-sonnet-4-5-20250929" in checks["llm"]["detail"]
    imported_llm = [m for m in report["imported_plugins"] if m.startswith("tenantkit_llm_")]
    assert {m.split(".")[0] for m in imported_llm} == {"tenantkit_llm_claude"}
    assert API_KEY not in out + err


def test_tenantkit_check_reports_rejected_credentials_without_printing_them(
    config_dir: Path, tmp_path: Path
) -> None:
    # The Messages API's 401 (https://platform.claude.com/docs/en/api/errors), here quoting
    # the key as a careless proxy might.
    rejected = {
        "type": "error",
        "error": {"type": "authentication_error", "message": f"invalid x-api-key {API_KEY}"},
    }
    outcome, out, err = _check(config_dir, tmp_path, (401, rejected))
    assert outcome["status"] == 1
    assert outcome["llm_modules"] == ["tenantkit_llm_claude"]
    [llm_line] = [line for line in out.splitlines() if line.split()[:2] == ["llm", "claude"]]
    assert "FAILED" in llm_line
    assert "authentication_error" in llm_line
    assert API_KEY not in out + err
