"""Hostile bodies against every route of ``tenantkit serve``: nesting, sizes, odd
encodings, WebSocket frames and handshakes. Each gets a 4xx in the project's error
format (or the WebSocket equivalent), never a 500, a dropped connection or a hang.
The limits are those of ``tenantkit_runtime.limits``."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tenantkit_runtime.limits import (
    MAX_FUNCTION_BODY,
    MAX_HTTP_BODY,
    MAX_JSON_DEPTH,
    MAX_REQUEST_LINE,
    MAX_WEBSOCKET_MESSAGE,
)
from tests.security._attack import Target, assert_no_leak, refused

#: Every route that reads a JSON body, with a body it accepts.
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/conversations", {"title": "t"}),
    ("POST", "/conversations/{conversation}/messages", {"content": "hi"}),
    ("POST", "/v1/chat/completions", {"model": "default", "messages": []}),
    ("POST", "/files", {"name": "a.txt", "size": 1}),
    ("PATCH", "/config", {"branding": {}}),
    ("PUT", "/config/providers/llm", {"provider": "echo"}),
]


@pytest.fixture(scope="module")
def conversation(target: Target) -> str:
    response = target.http.post("/conversations", headers=target.auth(), json={"title": "c"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _send(target: Target, method: str, path: str, conversation: str, body: bytes) -> Any:
    headers = {**target.auth(), "content-type": "application/json"}
    return target.http.request(
        method, path.format(conversation=conversation), headers=headers, content=body
    )


def _nest(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1_000, 3_000, 100_000])
def test_deeply_nested_bodies_are_400(
    target: Target, conversation: str, method: str, path: str, body: dict[str, Any], depth: int
) -> None:
    field = next(iter(body))
    nested = json.dumps(body)[:-1] + f', "{field}x": {_nest(depth)}}}'
    error = refused(target, _send(target, method, path, conversation, nested.encode()), 400)
    assert error["code"] == "invalid_request"
    assert f"deeper than {MAX_JSON_DEPTH} levels" in error["message"]


def test_a_tool_call_arguments_string_nested_2000_deep_is_400(target: Target) -> None:
    body = {
        "model": "default",
        "messages": [
            {"role": "user", "content": "hi"},
            {
                "role": "assistant",
                "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": _nest(2_000)}}],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            {"role": "user", "content": "and?"},
        ],
    }
    response = target.http.post("/v1/chat/completions", headers=target.auth(), json=body)
    error = refused(target, response, 400)
    assert "messages[1].tool_calls[0].function.arguments" in error["message"]
    # nesting within the limit is still accepted
    body["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"a": json.loads(_nest(10))}
    )
    ok = target.http.post("/v1/chat/completions", headers=target.auth(), json=body)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{\x00}\x00",  # UTF-16 with a byte order mark
        b'{"title": "\xc0\xaf"}',  # an overlong UTF-8 sequence
        b'{"title": "\xed\xa0\x80"}',  # a UTF-8 encoded surrogate
        b'{"title": "\x80"}',  # a lone continuation byte
        b'{"title": "a"',  # truncated
        b'{"title": "a", "title": "b"}',  # a repeated key
        b'{"title": NaN}',
        b"1" * 5_000,  # an integer with more digits than Python parses
        b"\x00" * 64,
    ],
)
def test_odd_encodings_are_4xx(target: Target, conversation: str, body: bytes) -> None:
    for method, path, _ in ROUTES:
        response = _send(target, method, path, conversation, body)
        refused(target, response, (400, 422))


def test_bodies_over_the_limits_are_413(target: Target, conversation: str) -> None:
    over_function = b'{"title": "' + b"a" * MAX_FUNCTION_BODY + b'"}'
    error = refused(target, _send(target, "POST", "/conversations", "", over_function), 413)
    assert error["code"] == "payload_too_large"
    over_gateway = b"[" + b"0," * (MAX_HTTP_BODY // 2) + b"0]"
    response = _send(target, "POST", "/conversations", "", over_gateway)
    refused(target, response, 413, shape="gateway")
    # a declared length over the quota is refused before the body is read
    headers = {**target.auth(), "content-length": str(MAX_HTTP_BODY * 10)}
    sock = socket.create_connection(("127.0.0.1", target.serve.port), timeout=10)
    with sock:
        request = "POST /conversations HTTP/1.1\r\nhost: x\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        sock.sendall(request.encode() + b"\r\n{")
        assert sock.recv(64).startswith(b"HTTP/1.1 413")


def test_hostile_file_names_and_sizes_are_handled(target: Target) -> None:
    for name in ("../../etc/passwd", "/abs", "a\x00b", "a\u202eb", "\u2025/x", "x" * 256, ""):
        response = target.http.post("/files", headers=target.auth(), json={"name": name, "size": 1})
        if response.status_code == 201:  # a name is only a label: the key is the file id
            assert response.json()["file"]["id"] not in name
            continue
        refused(target, response, (400, 422))
    for size in (-1, 10**30, 1.5, None, [1]):
        response = target.http.post(
            "/files", headers=target.auth(), json={"name": "a", "size": size}
        )
        refused(target, response, (413, 422))


def test_query_strings_and_paths_are_bounded(target: Target) -> None:
    long_query = target.http.get("/files?limit=" + "9" * 5_000, headers=target.auth())
    refused(target, long_query, 400)
    response = target.http.get("/files?cursor=" + "A" * (MAX_REQUEST_LINE + 1))
    refused(target, response, 414, shape="gateway")
    for query in ("limit=-1", "limit=abc", "limit=1e9", "cursor=%00", "cursor=%ff%fe"):
        refused(target, target.http.get(f"/files?{query}", headers=target.auth()), 400)
    for path in ("/conversations/%00", "/conversations/..%2f..%2fconfig", "/files/%ff"):
        refused(target, target.http.get(path, headers=target.auth()), (400, 404))


# --- WebSocket ----------------------------------------------------------------------------


def _ws(target: Target, tenant: str = "acme") -> Any:
    return connect(f"{target.websocket_url}?token={target.token(tenant)}", open_timeout=10)


def _still_served(socket_: Any) -> None:
    socket_.send(json.dumps({"action": "chat", "content": "still there?"}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        message = json.loads(socket_.recv(timeout=10))
        if message["type"] == "done":
            assert "still there?" in message["text"]
            return
    raise AssertionError("no reply")


@pytest.mark.parametrize(
    "frame",
    [
        _nest(3_000),
        '{"action": ' + _nest(3_000) + "}",
        '{"action": "chat", "content": ' + _nest(3_000, '"x"') + "}",
        '{"action": "chat", "action": "broadcast", "data": {}}',
        '{"action": "chat", "content": "a", "content": "b"}',
        '{"action": "chat", "content": NaN}',
        '{"action": "chat"',
    ],
)
def test_hostile_websocket_frames_get_an_error_and_the_connection_lives(
    target: Target, frame: str
) -> None:
    with _ws(target) as socket_:
        socket_.send(frame)
        reply = json.loads(socket_.recv(timeout=10))
        assert reply["type"] == "error", reply
        assert reply["error"]["code"] in ("invalid_request", "validation_error"), reply
        assert_no_leak(target, json.dumps(reply))
        _still_served(socket_)


def test_binary_and_invalid_utf8_frames_are_refused_politely(target: Target) -> None:
    with _ws(target) as socket_:
        socket_.send(b"\xff\xfe\x00garbage")
        reply = json.loads(socket_.recv(timeout=10))
        assert reply["type"] == "error"
        _still_served(socket_)


def test_a_frame_over_the_quota_closes_with_1009(target: Target) -> None:
    with _ws(target) as socket_:
        socket_.send("x" * (MAX_WEBSOCKET_MESSAGE + 1))
        with pytest.raises(ConnectionClosed) as closed:
            socket_.recv(timeout=10)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009


def _raw_handshake(target: Target, target_path: str, extra: str = "") -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", target.serve.port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET {target_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        answer = b""
        while True:  # read until the server closes: it must, at once
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_a_websocket_handshake_over_8_kib_is_414_and_closed_at_once(target: Target) -> None:
    answer, took = _raw_handshake(target, "/ws?token=" + "a" * 9_000)
    assert answer.startswith(b"HTTP/1.1 414"), answer[:100]
    assert took < 5
    _head, _, body = answer.partition(b"\r\n\r\n")
    assert json.loads(body) == {"message": "Request-URI Too Long"}
    assert_no_leak(target, answer.decode(errors="replace"))


def test_oversized_handshake_headers_are_refused_and_closed(target: Target) -> None:
    answer, took = _raw_handshake(target, "/ws?token=x", "X-Big: " + "b" * 9_000 + "\r\n")
    assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:100]
    assert took < 5
    many = "".join(f"X-H{i}: v\r\n" for i in range(300))
    answer, took = _raw_handshake(target, "/ws?token=x", many)
    assert answer.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4")), answer[:100]
    assert took < 5
