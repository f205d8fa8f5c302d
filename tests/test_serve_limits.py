"""Each per-tenant limit through ``tenantkit serve``'s HTTP and WebSocket APIs: LLM
tokens per day, the storage quota of presigned uploads, a feature the plan leaves out,
and a WebSocket client gone mid-reply still charged (the rate limit is in
``test_end_to_end.py``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from testharness.tenantkit_serve import ServeProcess, start_serve

pytestmark = pytest.mark.timeout(120)

#: Tenants added next to the demo's, on its defaults, each with a small limit.
TENANTS: dict[str, dict[str, Any]] = {
    "tiny": {"llm_tokens_per_day": 10, "storage_quota_bytes": 100},
    "streamer": {"llm_tokens_per_day": 50},
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = start_serve(tmp_path_factory.mktemp("limits"), "--demo")
    try:
        for tenant_id, limits in TENANTS.items():
            document = {
                "schema_version": 1,
                "tenant_id": tenant_id,
                "llm": {"provider": "echo"},
                "limits": limits,
                "branding": {"display_name": tenant_id.title()},
            }
            (process.config_dir / f"{tenant_id}.json").write_text(json.dumps(document))
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(served: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30, trust_env=False) as client:
        yield client


def _auth(served: ServeProcess, tenant: str) -> dict[str, str]:
    return {"authorization": f"Bearer {served.token(tenant, 'ann', ['admin'])}"}


def _say(http: httpx.Client, auth: dict[str, str], cid: str, text: str) -> httpx.Response:
    return http.post(f"/conversations/{cid}/messages", json={"content": text}, headers=auth)


def test_llm_tokens_per_day(served: ServeProcess, http: httpx.Client) -> None:
    auth = _auth(served, "tiny")
    cid = http.post("/conversations", json={}, headers=auth).json()["id"]
    assert _say(http, auth, cid, "one two three").status_code == 201  # 3 in, 3 out
    crossing = _say(http, auth, cid, "four five six seven")  # with its history: past 10
    assert crossing.status_code == 201, crossing.text  # the crossing reply finishes
    refused = _say(http, auth, cid, "eight")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert 0 < int(refused.headers["retry-after"]) <= 86400  # until midnight UTC
    # the other tenants' budgets are their own
    other = _auth(served, "acme")
    theirs = http.post("/conversations", json={}, headers=other).json()["id"]
    assert _say(http, other, theirs, "hello").status_code == 201


def test_storage_quota_of_presigned_uploads(served: ServeProcess, http: httpx.Client) -> None:
    auth = _auth(served, "tiny")

    def offer(size: int) -> httpx.Response:
        wanted = {"name": "a.txt", "content_type": "text/plain", "size": size}
        return http.post("/files", json=wanted, headers=auth)

    first = offer(60)
    assert first.status_code == 201, first.text
    over = offer(41)
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "quota_exceeded"
    # a PUT bigger than declared, past the quota: refused at confirmation, deleted
    upload = first.json()["upload"]
    put = httpx.put(upload["url"], content=b"x" * 101, headers=upload["headers"], trust_env=False)
    assert put.status_code in (200, 201, 204), put.text
    fid = first.json()["file"]["id"]
    refused = http.post(f"/files/{fid}/confirm", headers=auth)
    assert refused.status_code == 429
    assert http.get(f"/files/{fid}", headers=auth).status_code == 404
    # its bytes were given back: a file that fits is accepted again
    assert offer(100).status_code == 201


def test_a_feature_the_plan_leaves_out(served: ServeProcess, http: httpx.Client) -> None:
    refused = http.post(
        "/v1/images/generations",
        json={"prompt": "a red square"},
        headers=_auth(served, "tiny"),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert "image_generation" in refused.json()["error"]["message"]


def test_a_websocket_client_gone_mid_reply_is_charged(
    served: ServeProcess, http: httpx.Client
) -> None:
    auth = _auth(served, "streamer")
    token = auth["authorization"].removeprefix("Bearer ")
    content = " ".join(f"word{i}" for i in range(2000))
    with connect(f"{served.websocket_url}?token={token}") as socket:
        socket.send(json.dumps({"action": "chat", "content": content, "ref": "r1"}))
        first = json.loads(socket.recv(timeout=30))
        assert first["type"] == "delta", first
    # gone after the first delta: the reply is charged once the function notices
    deadline = time.monotonic() + 30
    while True:
        report = http.get("/usage", headers=auth)
        assert report.status_code == 200, report.text
        totals = report.json()["totals"]
        answered = "WEBSOCKET chat 410" in served.logs  # the function found the client gone
        if (totals["llm_calls"] and answered) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert totals["llm_calls"] == 1
    assert answered
    # the provider's usage never came: the prompt in full, the reply as far as it was read
    assert totals["input_tokens"] >= 2000
    assert 0 < totals["output_tokens"] < totals["input_tokens"]
    # and the charge counts: the day's 50 tokens are used up
    cid = http.post("/conversations", json={}, headers=auth).json()["id"]
    refused = _say(http, auth, cid, "hello")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
