"""End to end through ``tenantkit serve --demo``, over real HTTP and WebSocket.

The server runs as the command a person starts (``testharness/tenantkit_serve.py``):
API Gateway stand-in, Lambda authorizer, the runtime's functions, the local storage's
presigned URLs and the WebSocket Management API, with the demo tenants ``acme`` and
``globex`` on the embedded providers (sqlite, local storage, echo LLM).
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from testharness.tenantkit_serve import ServeProcess

pytestmark = pytest.mark.timeout(120)

_SEPARATOR = "=====8<====="


@pytest.fixture(scope="module")
def served(tenantkit_serve: ServeProcess) -> ServeProcess:
    return tenantkit_serve


@pytest.fixture(scope="module")
def http(served: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, trust_env=False) as client:
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens(served: ServeProcess) -> dict[str, str]:
    return {
        "acme": served.token("acme", "alice", ["admin"]),
        "globex": served.token("globex", "bob", ["admin"]),
    }


def _upload(http: httpx.Client, token: str, name: str, data: bytes) -> dict[str, Any]:
    """Request an upload, PUT the bytes to the presigned URL, confirm; the file."""
    asked = http.post(
        "/files",
        headers=_auth(token),
        json={"name": name, "content_type": "text/plain", "size": len(data)},
    )
    assert asked.status_code == 201, asked.text
    upload = asked.json()["upload"]
    put = httpx.put(upload["url"], content=data, headers=upload["headers"], trust_env=False)
    assert put.status_code == 200, put.text
    confirmed = http.post(f"/files/{asked.json()['file']['id']}/confirm", headers=_auth(token))
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "ready"
    return dict(confirmed.json())


# --- what the server prints --------------------------------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="the printed lines call curl")
def test_the_printed_curl_lines_work_as_printed(served: ServeProcess, tmp_path) -> None:
    lines = [
        line for line in served.commands() if " -m tenantkit_runtime.local.ws_client " not in line
    ]
    assert len(lines) >= 15
    script = "".join(f"{line}\necho; echo '{_SEPARATOR}'\n" for line in lines)
    if time.time() % 60 > 40:  # the rate-limit lines run within one minute's window
        time.sleep(61 - time.time() % 60)
    run = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=90, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    outputs = [out.strip() for out in run.stdout.split(_SEPARATOR + "\n")]
    said = dict(zip(lines, outputs, strict=False))
    assert len(outputs) == len(lines) + 1
    assert outputs[-1] == ""

    def output(*fragments: str) -> str:
        (line,) = [line for line in lines if all(f in line for f in fragments)]
        return said[line]

    assert all(said[line] == "" for line in lines if line.startswith(("export ", "UPLOAD=")))
    exchange = json.loads(output("/messages", "-X POST"))
    assert exchange["reply"]["content"] == "Acme Corp assistant: hello"
    history = json.loads(output("/messages", "curl -s http"))
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    completion = json.loads(output("/v1/chat/completions"))
    assert completion["choices"][0]["message"]["content"] == "Globex Inc assistant: hello"
    assert output("-X PUT") == "200"
    confirmed = json.loads(output("/confirm"))
    assert confirmed["status"] == "ready"
    assert confirmed["size"] == 12
    acme_files = json.loads(output("/files -H", "ACME", "curl -s http"))
    assert confirmed["id"] in [f["id"] for f in acme_files["files"]]
    assert output("/download") == "hello, acme!"
    globex_files = json.loads(output("/files -H", "GLOBEX"))
    assert confirmed["id"] not in [f["id"] for f in globex_files["files"]]
    assert json.loads(output("/files/$FILE_ID -H", "GLOBEX"))["error"]["code"] == "not_found"
    refused = output("X-Tenant-Id")
    assert refused.startswith("HTTP/1.1 403")
    body = json.loads(refused.rsplit("\n", 1)[-1])
    assert body["message"] == "Forbidden"
    assert body["error"]["code"] == "access_denied"
    assert body["error"]["message"] == (
        "a token of tenant 'acme' was used on a route whose X-Tenant-Id header names "
        "tenant 'globex'"
    )
    # the tenant on the small plan: five admitted in a minute, then 429 with Retry-After
    assert output("for i in").split() == ["200"] * 5 + ["429"]
    limited = output("grep -i").splitlines()
    assert limited[0].startswith("HTTP/1.1 429")
    assert limited[1].lower().startswith("retry-after: ")
    report = output("tenantkit usage initech").splitlines()
    today = report[-2].split(":")[0]
    assert today.startswith("initech 20")
    assert "7 requests, 2 refused [config 7 (2xx:5 4xx:2)]" in report[-2]
    assert report[-1] == "initech: storage held now 0 bytes"
    # GET /usage answers the tenant's admins, or is refused while the minute lasts
    answered = json.loads(output("/usage"))
    assert answered.get("tenant_id") == "initech" or answered["error"]["code"] == "rate_limited"


def test_the_printed_websocket_line_works_as_printed(served: ServeProcess) -> None:
    commands = served.commands()
    (line,) = [c for c in commands if " -m tenantkit_runtime.local.ws_client " in c]
    assert "$ACME_TOKEN" not in line  # the client reads the variable itself
    exports = [c for c in commands if c.startswith("export ")]
    process = subprocess.Popen(
        ["bash", "-c", "\n".join([*exports, line])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in process.stdout], daemon=True).start()
    try:
        process.stdin.write('{"action": "chat", "content": "hello"}\n')
        process.stdin.flush()
        seen = ""
        while '"type":"done"' not in seen:
            seen += lines.get(timeout=30)
    finally:
        process.stdin.close()
        process.wait(timeout=15)
    assert f"Connected to {served.websocket_url}." in seen
    assert '"text":"Acme Corp assistant: hello"' in seen
    token = next(c for c in exports if c.startswith("export ACME_TOKEN=")).split("=", 1)[1]
    assert token not in seen
    assert re.search(r'"type":"delta","text":"Acme Corp assistant: hello"', seen)


# --- two tenants, side by side -----------------------------------------------------------


def test_two_tenants_chat_and_each_sees_only_its_own_conversations(
    http: httpx.Client, tokens: dict[str, str]
) -> None:
    mine: dict[str, str] = {}
    for tenant, name in (("acme", "Acme Corp"), ("globex", "Globex Inc")):
        created = http.post("/conversations", headers=_auth(tokens[tenant]), json={})
        assert created.status_code == 201, created.text
        conversation = created.json()["id"]
        mine[tenant] = conversation
        sent = http.post(
            f"/conversations/{conversation}/messages",
            headers=_auth(tokens[tenant]),
            json={"content": "same words"},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["reply"]["content"] == f"{name} assistant: same words"
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        listed = http.get("/conversations", headers=_auth(tokens[tenant]))
        ids = [c["id"] for c in listed.json()["conversations"]]
        assert mine[tenant] in ids
        assert mine[other] not in ids
        foreign = http.get(f"/conversations/{mine[other]}/messages", headers=_auth(tokens[tenant]))
        assert foreign.status_code == 404
        assert foreign.json()["error"]["code"] == "not_found"


def test_two_tenants_upload_download_and_list_only_their_own_files(
    http: httpx.Client, tokens: dict[str, str]
) -> None:
    files = {
        tenant: _upload(http, tokens[tenant], "report.txt", f"{tenant}'s report".encode())
        for tenant in ("acme", "globex")
    }
    for tenant, other in (("acme", "globex"), ("globex", "acme")):
        token = tokens[tenant]
        listed = [f["id"] for f in http.get("/files", headers=_auth(token)).json()["files"]]
        assert files[tenant]["id"] in listed
        assert files[other]["id"] not in listed
        link = http.get(f"/files/{files[tenant]['id']}/download", headers=_auth(token))
        assert link.status_code == 200, link.text
        body = httpx.get(link.json()["url"], trust_env=False)
        assert body.status_code == 200
        assert body.text == f"{tenant}'s report"
        for path in (f"/files/{files[other]['id']}", f"/files/{files[other]['id']}/download"):
            assert http.get(path, headers=_auth(token)).status_code == 404
        assert http.delete(f"/files/{files[other]['id']}", headers=_auth(token)).status_code == 404


def test_a_token_of_one_tenant_is_refused_on_another_tenants_resources(
    served: ServeProcess, http: httpx.Client, tokens: dict[str, str]
) -> None:
    acme = _auth(tokens["acme"])
    for request in (
        http.build_request("GET", "/files", headers={**acme, "x-tenant-id": "globex"}),
        http.build_request("GET", "/files", headers=acme, params={"tenant_id": "globex"}),
        http.build_request(
            "POST", "/conversations", headers={**acme, "x-tenant-id": "globex"}, json={}
        ),
    ):
        answer = http.send(request)
        assert answer.status_code == 403
        body = answer.json()
        # API Gateway's own body, and the reason the local gateway adds
        assert body["message"] == "Forbidden"
        assert body["error"]["code"] == "access_denied"
        assert "names tenant 'globex'" in body["error"]["message"]
        assert body["error"]["request_id"] == answer.headers["apigw-requestid"]
        assert "/" not in body["error"]["message"]  # no server path
    # A presigned URL of acme's, pointed at a globex key: the signature no longer matches.
    file = _upload(http, tokens["globex"], "secret.txt", b"globex only")
    link = http.get(f"/files/{file['id']}/download", headers=_auth(tokens["globex"])).json()
    url = urlsplit(link["url"])
    forged = urlunsplit(url._replace(path=url.path.replace("globex", "acme")))
    assert forged != link["url"]
    assert httpx.get(forged, trust_env=False).status_code == 403
    # The WebSocket API: the authorizer refuses a connection that names another tenant.
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{served.websocket_url}?token={tokens['acme']}&tenant_id=globex")
    assert refused.value.response.status_code == 403


def test_requests_without_a_valid_token_are_refused(
    served: ServeProcess, http: httpx.Client
) -> None:
    from tenantkit_runtime.local.issuer import LocalIssuer

    assert http.get("/conversations").status_code == 401
    assert http.get("/conversations").json() == {"message": "Unauthorized"}
    assert http.get("/conversations", headers=_auth("not-a-token")).status_code == 403
    stranger = LocalIssuer(served.state_dir / "another-issuer").issue(tenant="acme", user="eve")
    assert http.get("/conversations", headers=_auth(stranger)).status_code == 403
    expired = LocalIssuer(served.key_dir).issue(
        tenant="acme", user="alice", extra_claims={"exp": 1_000_000_000}
    )
    assert http.get("/conversations", headers=_auth(expired)).status_code == 403
    for query in ("", "?token=not-a-token", f"?token={stranger}"):
        with pytest.raises(InvalidStatus) as refused:
            connect(served.websocket_url + query)
        assert refused.value.response.status_code == 401


# --- one tenant broken, the others served --------------------------------------------------


def test_tenants_that_cannot_be_served_get_503_and_the_others_keep_working(
    served: ServeProcess, http: httpx.Client, tokens: dict[str, str], tmp_path
) -> None:
    not_a_directory = tmp_path / "a-file"
    not_a_directory.write_text("in the way")
    planted = "planted-presign-key-9d1e4c7f0b"
    documents = {
        "broken": {"db": {"provider": "sqlite", "path": "x.db", "pool": "yes"}},
        "orphan": {"llm": {"provider": "no-such-llm"}},
        "unreachable": {
            "storage": {
                "provider": "local",
                "root": str(not_a_directory),
                "base_url": served.url + "/_storage",
                "signing_key": planted,
            }
        },
    }
    for tenant, document in documents.items():
        path = served.config_dir / f"{tenant}.json"
        path.write_text(json.dumps({"schema_version": 1, "tenant_id": tenant, **document}))

    def acme_works() -> None:
        answer = http.post("/conversations", headers=_auth(tokens["acme"]), json={})
        assert answer.status_code == 201, answer.text

    acme_works()
    for tenant, path in (("broken", "/conversations"), ("orphan", "/conversations")):
        answer = http.get(path, headers=_auth(served.token(tenant, "mallory")))
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["message"] == "this tenant cannot be served right now"
        acme_works()
    token = _auth(served.token("unreachable", "trudy"))
    stored = http.post("/files", headers=token, json={"name": "a", "size": 1})
    assert stored.status_code == 503, stored.text
    assert planted not in stored.text
    # Its database and LLM still work: only the storage provider cannot be set up.
    assert http.post("/conversations", headers=token, json={}).status_code == 201
    acme_works()
    assert http.get("/files", headers=_auth(tokens["globex"])).status_code == 200
    assert planted not in served.logs


# --- WebSocket ------------------------------------------------------------------------------


def _reply(socket: Any, ref: str) -> tuple[list[str], dict[str, Any]]:
    deltas: list[str] = []
    while True:
        message = json.loads(socket.recv(timeout=30))
        assert message.get("ref") == ref, message
        if message["type"] == "delta":
            deltas.append(message["text"])
        elif message["type"] == "done":
            return deltas, message
        else:
            raise AssertionError(message)


def test_websocket_reply_streams_in_coalesced_chunks(
    served: ServeProcess, tokens: dict[str, str]
) -> None:
    words = [f"word{i}" for i in range(600)]
    with connect(f"{served.websocket_url}?token={tokens['acme']}") as socket:
        socket.send(json.dumps({"action": "chat", "content": " ".join(words), "ref": "r1"}))
        deltas, done = _reply(socket, "r1")
    assert "".join(deltas) == done["text"] == "Acme Corp assistant: " + " ".join(words)
    # The echo LLM streams one piece per word; the function sends far fewer messages,
    # each holding many pieces.
    assert 2 <= len(deltas) <= len(words) // 10
    assert done["finish_reason"] == "stop"


def test_websocket_replies_reach_only_their_own_tenant_and_conversation(
    served: ServeProcess, http: httpx.Client, tokens: dict[str, str]
) -> None:
    conversation = http.post("/conversations", headers=_auth(tokens["acme"]), json={}).json()
    acme_url = f"{served.websocket_url}?token={tokens['acme']}"
    globex_url = f"{served.websocket_url}?token={tokens['globex']}"
    with connect(acme_url) as acme, connect(globex_url) as globex:
        globex.send(
            json.dumps({"action": "chat", "content": "peek", "conversation_id": conversation["id"]})
        )
        error = json.loads(globex.recv(timeout=30))
        assert error["type"] == "error"
        assert error["error"]["code"] == "not_found"
        acme.send(
            json.dumps(
                {
                    "action": "chat",
                    "content": "stored",
                    "conversation_id": conversation["id"],
                    "ref": "a",
                }
            )
        )
        _, done = _reply(acme, "a")
        assert "message_id" in done
        with pytest.raises(TimeoutError):
            globex.recv(timeout=0.5)
    messages = http.get(
        f"/conversations/{conversation['id']}/messages", headers=_auth(tokens["acme"])
    ).json()["messages"]
    assert [m["content"] for m in messages] == ["stored", "Acme Corp assistant: stored"]


def test_no_credential_reaches_the_logs(
    served: ServeProcess, http: httpx.Client, tokens: dict[str, str]
) -> None:
    defaults = json.loads((served.config_dir / "defaults.json").read_text())
    presign_key = defaults["storage"]["signing_key"]
    signing_key = (served.state_dir / "signing-key").read_text().strip()
    _upload(http, tokens["acme"], "log-check.txt", b"x")
    logs = served.logs
    assert logs.count("\n") > 10
    for secret in (presign_key, signing_key, tokens["acme"], tokens["globex"]):
        assert secret not in logs
    assert "signature=" not in logs


# --- the README's main job ----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("uv") is None, reason="./run needs uv")
def test_run_demo_serves_the_demo_tenants(tmp_path) -> None:
    from testharness.tenantkit_serve import start_serve

    repository = Path(__file__).parents[1]
    served = start_serve(
        tmp_path,
        "--state-dir",
        str(tmp_path / "state"),
        command=("bash", str(repository / "run"), "demo"),
    )
    try:
        assert served.printed.startswith("tenantkit serve --demo: three tenants")
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in served.commands()
            if line.startswith("export ")
        )
        answer = httpx.post(
            served.url + "/v1/chat/completions",
            headers=_auth(exports["GLOBEX_TOKEN"]),
            json={"model": "default", "messages": [{"role": "user", "content": "hi"}]},
            trust_env=False,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == "Globex Inc assistant: hi"
    finally:
        status = served.stop()
    assert status == 0, served.logs[-2000:]
