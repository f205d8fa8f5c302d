"""The WebSocket function against a real HTTP server on 127.0.0.1 that plays the API
Gateway Management API (``POST /{stage}/@connections/{id}``) and answers 410
GoneException for the connections a test marks gone (moto does not)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest

from tenantkit_runtime import deployment
from tenantkit_runtime.events import parse_event
from tenantkit_runtime.functions import websocket
from tenantkit_runtime.push import Coalescer, endpoint_for


class ManagementApi:
    """Records every message posted to a connection; gone connections answer 410."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, Any]] = []
        self.gone: set[str] = set()
        self.gone_after: dict[str, int] = {}
        """Connections that go away after this many delivered messages."""
        self.paths: list[str] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                data = self.rfile.read(length)
                connection_id = unquote(self.path.rsplit("/@connections/", 1)[-1])
                with api._lock:
                    api.paths.append(self.path)
                    delivered = sum(1 for cid, _ in api.posted if cid == connection_id)
                    if delivered >= api.gone_after.get(connection_id, delivered + 1):
                        api.gone.add(connection_id)
                    if connection_id in api.gone:
                        status, answer = 410, {"message": None}
                    else:
                        api.posted.append((connection_id, json.loads(data)))
                        status, answer = 200, None
                self.send_response(status)
                if status == 410:
                    self.send_header("x-amzn-ErrorType", "GoneException")
                payload = json.dumps(answer).encode() if answer is not None else b""
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}/dev"

    def to(self, connection_id: str) -> list[Any]:
        with self._lock:
            return [m for cid, m in self.posted if cid == connection_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def management(tenants, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementApi]:
    api = ManagementApi()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TENANTKIT_WEBSOCKET_ENDPOINT": api.endpoint,
    }.items():
        monkeypatch.setenv(key, value)
    deployment.reset()
    yield api
    api.close()


def call(event: dict[str, Any]) -> dict[str, Any]:
    return websocket.handler(event, None)


def connect(events: Any, connection_id: str, **who: Any) -> None:
    result = call(events.ws("CONNECT", "$connect", connection_id, **who))
    assert result["statusCode"] == 200, result


def registered(tenant_id: str) -> set[str]:
    return {c.connection_id for c in deployment.control_plane().connections(tenant_id)}


def test_connect_and_disconnect_register_per_tenant(management, events, json_logs) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJ0ZW5hbnQiOiJhY21lIn0.planted-signature-value"
    first = events.ws("CONNECT", "$connect", "c1=")
    first["queryStringParameters"] = {"token": token}
    assert call(first)["statusCode"] == 200
    connect(events, "c2=", user="bob")
    connect(events, "g1=", tenant="globex")
    assert registered("acme") == {"c1=", "c2="}
    assert registered("globex") == {"g1="}
    stored = deployment.control_plane().connection("acme", "c2=")
    assert stored is not None
    assert stored.user_id == "bob"
    assert stored.endpoint == management.endpoint
    result = call(events.ws("DISCONNECT", "$disconnect", "c1="))
    assert result["statusCode"] == 200
    assert registered("acme") == {"c2="}
    assert json_logs.records
    assert token not in json_logs.text
    assert "planted-signature-value" not in json_logs.text


def test_connect_without_authorizer_context_is_refused(management, events) -> None:
    result = call(events.ws("CONNECT", "$connect", "x1=", tenant=None, user=None, roles=None))
    assert result["statusCode"] == 401
    assert registered("acme") == set()


def test_a_tenant_without_configuration_opens_no_connection(management, events) -> None:
    result = call(events.ws("CONNECT", "$connect", "u1=", tenant="umbrella"))
    assert result["statusCode"] == 404
    assert registered("umbrella") == set()


def test_chat_reply_streams_in_coalesced_chunks(management, events, monkeypatch) -> None:
    monkeypatch.setattr(websocket, "FLUSH_INTERVAL", 60.0)  # size-based flushes only
    words = " ".join(f"word{i:03d}" for i in range(120))  # 959 characters
    connect(events, "c1=")
    result = call(
        events.ws("MESSAGE", "chat", "c1=", body={"action": "chat", "content": words, "ref": "r1"})
    )
    assert result["statusCode"] == 200, result
    frames = management.to("c1=")
    deltas = [f for f in frames if f["type"] == "delta"]
    assert "".join(d["text"] for d in deltas) == f"echo: {words}"
    assert len(deltas) < 10  # 121 word deltas from the LLM
    assert all(len(d["text"]) >= websocket.FLUSH_CHARS for d in deltas[:-1])
    assert all(f["ref"] == "r1" for f in frames)
    done = frames[-1]
    assert done["type"] == "done"
    assert done["text"] == f"echo: {words}"
    assert done["usage"]["output_tokens"] == 121
    assert done["finish_reason"] == "stop"


def test_chat_into_a_conversation_is_stored(management, events) -> None:
    from tenantkit_runtime.conversations import Conversations

    store = Conversations(deployment.resolver().resolve("acme").db, "alice")
    conversation = store.create("ws")
    connect(events, "c1=")
    call(
        events.ws(
            "MESSAGE",
            "chat",
            "c1=",
            body={"action": "chat", "content": "remember me", "conversation_id": conversation.id},
        )
    )
    done = management.to("c1=")[-1]
    messages, _ = store.messages(conversation.id)
    assert [m.content for m in messages] == ["remember me", "echo: remember me"]
    assert done["message_id"] == messages[1].id


def test_chat_errors_reach_the_caller_as_a_frame(management, tenants, events) -> None:
    tenants.add("revoked", llm={"provider": "echo", "fail_with": {"error": "authentication_error"}})
    connect(events, "r1=", tenant="revoked")
    result = call(
        events.ws(
            "MESSAGE", "chat", "r1=", tenant="revoked", body={"action": "chat", "content": "x"}
        )
    )
    assert result["statusCode"] == 502
    frame = management.to("r1=")[-1]
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "authentication_error"
    assert frame["error"]["request_id"]


def test_unknown_action_gets_an_error_frame(management, events) -> None:
    connect(events, "c1=")
    result = call(events.ws("MESSAGE", "$default", "c1=", body={"action": "dance"}))
    assert result["statusCode"] == 400
    assert management.to("c1=")[-1]["error"]["code"] == "invalid_request"


def test_broadcast_reaches_one_tenant_and_removes_only_the_stale(management, events, body) -> None:
    connect(events, "c1=", roles="member,admin")
    connect(events, "c2=", user="bob")
    connect(events, "c3=", user="carol")
    connect(events, "g1=", tenant="globex")
    management.gone.add("c3=")
    result = call(
        events.ws(
            "MESSAGE",
            "broadcast",
            "c1=",
            roles="member,admin",
            body={"action": "broadcast", "data": {"notice": "maintenance at 5"}},
        )
    )
    assert result["statusCode"] == 200, result
    assert body(result) == {"sent": 2, "gone": 1}
    expected = {"type": "broadcast", "from": "alice", "data": {"notice": "maintenance at 5"}}
    assert management.to("c1=") == [expected]
    assert management.to("c2=") == [expected]
    assert management.to("g1=") == []
    assert registered("acme") == {"c1=", "c2="}  # the stale one removed, not the sender
    assert registered("globex") == {"g1="}


def test_broadcast_needs_the_admin_role(management, events) -> None:
    connect(events, "c1=")
    connect(events, "c2=")
    result = call(
        events.ws("MESSAGE", "broadcast", "c1=", body={"action": "broadcast", "data": {}})
    )
    assert result["statusCode"] == 403
    assert management.to("c2=") == []
    (frame,) = management.to("c1=")
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "access_denied"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"action": "chat", "ref": "r9"}, "content"),
        ({"action": "chat", "content": 42, "ref": "r9"}, "content"),
        ({"action": "chat", "content": "", "ref": "r9"}, "content"),
    ],
)
def test_an_invalid_chat_message_gets_an_error_frame_naming_the_field(
    management, events, body, path
) -> None:
    connect(events, "c1=")
    result = call(events.ws("MESSAGE", "chat", "c1=", body=body))
    assert result["statusCode"] == 422
    (frame,) = management.to("c1=")
    assert frame["type"] == "error"
    assert frame["ref"] == "r9"
    assert frame["error"]["code"] == "validation_error"
    assert [d["path"] for d in frame["error"]["details"]] == [path]
    assert frame["error"]["request_id"]


def test_no_error_frame_for_a_refused_connect_or_a_gone_sender(management, events) -> None:
    result = call(events.ws("CONNECT", "$connect", "x1=", tenant=None, user=None, roles=None))
    assert result["statusCode"] == 401
    management.gone.add("c1=")
    connect(events, "c1=")
    call(events.ws("MESSAGE", "chat", "c1=", body={"action": "chat", "content": "hi"}))
    assert management.posted == []


def test_a_sender_gone_mid_reply_is_removed(management, events) -> None:
    connect(events, "c1=")
    connect(events, "c2=")
    management.gone.add("c1=")
    result = call(events.ws("MESSAGE", "chat", "c1=", body={"action": "chat", "content": "hi"}))
    assert result["statusCode"] == 410
    assert registered("acme") == {"c2="}


def test_a_client_gone_mid_stream_is_charged_for_what_was_streamed(management, events) -> None:
    connect(events, "c1=")
    management.gone_after["c1="] = 1  # the first delta arrives, then the client is gone
    content = " ".join(f"word{i}" for i in range(600))
    frame = {"action": "chat", "content": content}
    result = call(events.ws("MESSAGE", "chat", "c1=", body=frame))
    assert result["statusCode"] == 410
    (delivered,) = management.to("c1=")
    assert delivered["type"] == "delta"
    today = datetime.now(UTC).date()
    guard = deployment.usage_guard()
    assert guard is not None
    totals = guard.meter.report("acme", today, today).totals
    assert totals.llm_calls == 1
    # the provider reports usage only at the end of a stream: both sides are estimated,
    # the prompt in full, the reply as far as it was read (4 characters a token)
    assert totals.input_tokens == -(-len(content) // 4)
    assert -(-len(delivered["text"]) // 4) <= totals.output_tokens < len(content) // 4


def test_endpoint_comes_from_the_event_unless_overridden(events) -> None:
    incoming = parse_event(events.ws("MESSAGE", "chat", "c1=", stage="prod"))
    assert endpoint_for(incoming) == "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert endpoint_for(incoming, "http://127.0.0.1:3001/local/") == "http://127.0.0.1:3001/local"


def test_coalescer_flushes_on_time_or_size() -> None:
    now = [0.0]
    sent: list[str] = []
    coalescer = Coalescer(sent.append, interval=0.05, max_chars=10, clock=lambda: now[0])
    coalescer.add("ab")
    coalescer.add("cd")
    assert sent == []
    now[0] = 0.06
    coalescer.add("ef")
    assert sent == ["abcdef"]
    coalescer.add("0123456789")
    assert sent == ["abcdef", "0123456789"]
    coalescer.add("x")
    coalescer.flush()
    coalescer.flush()
    assert sent == ["abcdef", "0123456789", "x"]
    assert coalescer.chunks == 3
