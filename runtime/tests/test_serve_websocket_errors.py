"""WebSocket errors reach the client: through ``tenantkit serve`` (which, like API
Gateway without route responses, drops a route's return value) with a real WebSocket
client. Every refused message is answered by an error frame on the same connection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from testharness.tenantkit_serve import ServeProcess


def _socket(served: ServeProcess, roles: list[str]) -> ClientConnection:
    token = served.token("acme", "alice", roles)
    return connect(f"{served.websocket_url}?token={token}", open_timeout=30)


def _next(socket: ClientConnection) -> dict[str, Any]:
    message = json.loads(socket.recv(timeout=30))
    assert isinstance(message, dict)
    return message


@pytest.mark.parametrize(
    "message",
    [
        {"action": "chat", "ref": "q1"},
        {"action": "chat", "content": ["not", "text"], "ref": "q1"},
        {"action": "chat", "content": None, "ref": "q1"},
    ],
    ids=["no-content", "content-a-list", "content-null"],
)
def test_a_chat_message_without_valid_content_gets_an_error_frame(
    tenantkit_serve: ServeProcess, message: dict[str, Any]
) -> None:
    with _socket(tenantkit_serve, ["admin"]) as socket:
        socket.send(json.dumps(message))
        frame = _next(socket)
        assert frame["type"] == "error"
        assert frame["ref"] == "q1"
        assert frame["error"]["code"] == "validation_error"
        assert [d["path"] for d in frame["error"]["details"]] == ["content"]
        assert frame["error"]["request_id"]
        # the connection stays usable
        socket.send(json.dumps({"action": "chat", "content": "still here", "ref": "q2"}))
        while (reply := _next(socket))["type"] != "done":
            assert reply["type"] == "delta"
        assert reply["ref"] == "q2"
        assert reply["text"].endswith("still here")


def test_a_broadcast_by_a_non_admin_gets_an_error_frame_and_reaches_nobody(
    tenantkit_serve: ServeProcess,
) -> None:
    with (
        _socket(tenantkit_serve, ["admin"]) as listener,
        _socket(tenantkit_serve, []) as member,
    ):
        member.send(json.dumps({"action": "broadcast", "data": {"notice": "not mine to send"}}))
        frame = _next(member)
        assert frame["type"] == "error"
        assert frame["error"]["code"] == "access_denied"
        assert "admin" in frame["error"]["message"]
        with pytest.raises(TimeoutError):
            listener.recv(timeout=0.5)


def test_malformed_json_and_an_unknown_action_get_error_frames(
    tenantkit_serve: ServeProcess,
) -> None:
    with _socket(tenantkit_serve, ["admin"]) as socket:
        socket.send('{"action": "chat", "content": ')
        assert _next(socket)["error"]["code"] == "invalid_request"
        socket.send(json.dumps({"action": "dance", "ref": "d"}))
        frame = _next(socket)
        assert frame["error"]["code"] == "invalid_request"
        assert frame["ref"] == "d"
