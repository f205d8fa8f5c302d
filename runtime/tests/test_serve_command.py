"""``tenantkit serve`` as a command: registered through the core CLI's extension group,
its usage errors, and serving a configuration directory of one's own with tokens
from ``tenantkit token``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from testharness._ports import free_port
from testharness.tenantkit_serve import ServeProcess, start_serve


def _tenantkit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tenantkit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_serve_is_a_tenantkit_command() -> None:
    listed = _tenantkit("--help")
    assert listed.returncode == 0
    assert "serve" in listed.stdout
    helped = _tenantkit("serve", "--help")
    assert helped.returncode == 0
    for option in ("--port", "--demo", "--state-dir", "--config-dir"):
        assert option in helped.stdout


def test_usage_errors(tmp_path: Path) -> None:
    both = _tenantkit("serve", "--demo", "--config-dir", str(tmp_path))
    assert both.returncode == 2
    assert "leave out --config-dir" in both.stderr
    reset = _tenantkit("serve", "--reset")
    assert reset.returncode == 2
    assert "--reset starts the demo over: it goes with --demo" in reset.stderr
    bad_port = _tenantkit("serve", "--port", "70000")
    assert bad_port.returncode == 2
    assert "--port" in bad_port.stderr


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _tenantkit("serve", "--port", str(port), "--state-dir", str(tmp_path / "s"))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_serving_a_configuration_directory_with_tokens_from_tenantkit_token(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = tmp_path / "tenants"
    config.mkdir()
    (config / "defaults.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "db": {"provider": "sqlite", "path": str(tmp_path / "data.sqlite3")},
                "llm": {"provider": "echo", "prefix": "initech: "},
                "storage": {
                    "provider": "local",
                    "root": str(tmp_path / "objects"),
                    "base_url": f"http://127.0.0.1:{port}/files-of-initech",
                    "signing_key": "initech-presign-key-0123456789",
                },
            }
        )
    )
    (config / "initech.json").write_text(json.dumps({"schema_version": 1, "tenant_id": "initech"}))
    served = start_serve(
        tmp_path / "run",
        "--state-dir",
        str(tmp_path / "state"),
        port=port,
        env={"TENANTKIT_CONFIG_DIR": str(config)},
    )
    try:
        assert f"1 in {config} (initech)" in served.printed
        assert "tenantkit token --tenant ID --user ID" in served.printed
        issued = _tenantkit(
            "token",
            "--tenant",
            "initech",
            "--user",
            "peter",
            "--key-dir",
            str(served.key_dir),
        )
        assert issued.returncode == 0, issued.stderr
        auth = {"authorization": f"Bearer {issued.stdout.strip()}"}
        with httpx.Client(base_url=served.url, trust_env=False, timeout=30) as http:
            reply = http.post(
                "/v1/chat/completions",
                headers=auth,
                json={
                    "model": "default",
                    "messages": [{"role": "user", "content": "tps reports"}],
                },
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"] == "initech: tps reports"
            upload = http.post("/files", headers=auth, json={"name": "r.txt", "size": 2})
            assert upload.status_code == 201, upload.text
            url = upload.json()["upload"]["url"]
            assert url.startswith(f"http://127.0.0.1:{port}/files-of-initech/")
            headers = upload.json()["upload"]["headers"]
            assert http.put(url, content=b"ok", headers=headers).status_code == 200
        assert (tmp_path / "state" / "control-plane.sqlite3").is_file()
        assert oct((tmp_path / "state" / "signing-key").stat().st_mode & 0o777) == "0o600"
    finally:
        status = served.stop()
    assert status == 0, served.logs[-2000:]


def test_the_functions_never_import_the_servers_libraries() -> None:
    code = (
        "import sys\n"
        "from tenantkit_runtime.functions import auth, chat, config, files, websocket\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'uvicorn', 'starlette', 'a2wsgi', 'websockets', 'h11'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_restarted_demo_keeps_what_its_tenants_changed_and_reset_starts_over(
    tmp_path: Path,
) -> None:
    def branding(served: ServeProcess) -> dict[str, object]:
        token = {"authorization": f"Bearer {served.token('acme', 'alice', ['admin'])}"}
        answer = httpx.get(served.url + "/config/branding", headers=token, trust_env=False)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    served = start_serve(tmp_path, "--demo")
    try:
        token = {"authorization": f"Bearer {served.token('acme', 'alice', ['admin'])}"}
        changed = httpx.patch(
            served.url + "/config",
            headers=token,
            json={"branding": {"display_name": "Acme Renamed"}},
            trust_env=False,
        )
        assert changed.status_code == 200, changed.text
    finally:
        assert served.stop() == 0
    served = start_serve(tmp_path, "--demo", port=served.port)
    try:
        assert "Acme Renamed" in json.dumps(branding(served))
    finally:
        assert served.stop() == 0
    served = start_serve(tmp_path, "--demo", "--reset", port=served.port)
    try:
        assert "Acme Renamed" not in json.dumps(branding(served))
        assert "Acme Corp" in json.dumps(branding(served))
    finally:
        assert served.stop() == 0


def test_another_host_is_allowed_with_a_warning(tmp_path: Path) -> None:
    served = start_serve(tmp_path, "--host", "127.0.0.2", "--state-dir", str(tmp_path / "s"))
    try:
        assert f"http://127.0.0.2:{served.port}" in served.printed
        assert "warning: listening on 127.0.0.2: other machines may reach" in served.logs
        keys = httpx.get(f"http://127.0.0.2:{served.port}/.well-known/jwks.json", trust_env=False)
        assert keys.status_code == 200
    finally:
        assert served.stop() == 0
