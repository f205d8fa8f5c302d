"""The WebSocket function: connections per tenant, streamed chat replies, broadcasts.

Routes (route selection expression ``$request.body.action``):

``$connect``
    Authorized by the Lambda authorizer (token in the query string); registers the
    connection under the caller's tenant in the control plane.
``$disconnect``
    Forgets the connection; its duration counts in the tenant's WebSocket minutes.
``chat``  ``{"action": "chat", "content": "...", "conversation_id"?: "...", "ref"?: "..."}``
    Streams the tenant LLM's reply to the caller as ``{"type": "delta", "text"}``
    messages, coalesced (a message at most every 50 ms or per 256 characters), then
    ``{"type": "done", "text", "usage", "finish_reason"}``. With a
    ``conversation_id`` the exchange is stored in that conversation. Failures arrive
    as ``{"type": "error", "error": {"code", "message", "request_id"}}``. ``ref`` is
    echoed on every message of the reply.
``broadcast``  ``{"action": "broadcast", "data": {...}}`` (tenant admins)
    Sends ``{"type": "broadcast", "from", "data"}`` to every connection of the
    caller's tenant, and no other tenant's; connections found gone (410) are removed.
``$default``
    Answers ``{"type": "error"}`` for an unknown action.

Every failure of a message route reaches the caller as an error frame, sent through
the Management API like the replies: API Gateway drops a WebSocket route's return
value unless route responses are configured, so the HTTP-shaped error answer the app
computes (a body that fails validation, a missing role, a provider error) is posted
to the connection by :func:`handler`, with the message's ``ref`` when it carried one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit import Message
from tenantkit.errors import InvalidRequest
from tenantkit.llm import TextDelta
from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.conversations import Conversations
from tenantkit_runtime.events import parse_event
from tenantkit_runtime.push import Coalescer, broadcast, endpoint_for, post

__all__ = ["app", "handler"]

log = logging.getLogger("tenantkit_runtime.websocket")

app = App("websocket")

FLUSH_INTERVAL = 0.05
FLUSH_CHARS = 256


class ChatFrame(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    action: Literal["chat"]
    content: str = Field(min_length=1, max_length=32_000)
    conversation_id: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=128)


class BroadcastFrame(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    action: Literal["broadcast"]
    data: dict[str, Any]


class _SenderGone(Exception):
    """The caller's own connection went away while it was being answered."""


def _endpoint(request: Request[Any]) -> str:
    return endpoint_for(request.incoming, deployment.settings().websocket_endpoint)


def _connection_id(request: Request[Any]) -> str:
    connection_id = request.incoming.connection_id
    if not connection_id:
        raise InvalidRequest("the event carries no connection id")
    return connection_id


@app.websocket("$connect")
def connect(request: Request[None]) -> Response:
    # Resolving the tenant first: a token of a tenant the deployment has no
    # configuration for opens no connection (404 refuses the handshake).
    config = request.config
    request.control_plane.add_connection(
        config.tenant_id,
        _connection_id(request),
        user_id=request.user_id,
        endpoint=_endpoint(request),
    )
    return Response.empty(200)


@app.websocket("$disconnect")
def disconnect(request: Request[None]) -> Response:
    connection_id = _connection_id(request)
    connection = request.control_plane.connection(request.tenant_id, connection_id)
    removed = request.control_plane.remove_connection(request.tenant_id, connection_id)
    if removed and connection is not None and request.usage is not None:  # WebSocket time
        opened = datetime.fromisoformat(connection.connected_at)
        request.usage.add("ws", max(0, round((datetime.now(UTC) - opened).total_seconds())))
    return Response.empty(200)


@app.websocket("chat", body=ChatFrame)
def chat(request: Request[ChatFrame]) -> Response:
    frame = request.body
    endpoint, connection_id = _endpoint(request), _connection_id(request)

    def send(message: dict[str, Any]) -> None:
        if not post(endpoint, connection_id, {**message, "ref": frame.ref}):
            raise _SenderGone

    try:
        conversations = Conversations(request.db, request.user_id)
        conversation = None
        history: list[Message] = []
        if frame.conversation_id is not None:
            conversation = conversations.get(frame.conversation_id)
            history = conversations.history(conversation.id)
        coalescer = Coalescer(
            lambda text: send({"type": "delta", "text": text}),
            interval=FLUSH_INTERVAL,
            max_chars=FLUSH_CHARS,
        )
        with request.llm.stream(
            messages=[*history, Message(role="user", content=frame.content)]
        ) as stream:
            for event in stream:
                if isinstance(event, TextDelta):
                    coalescer.add(event.text)
            coalescer.flush()
            reply = stream.response
        done: dict[str, Any] = {
            "type": "done",
            "text": reply.text,
            "finish_reason": reply.finish_reason,
            "usage": reply.usage.model_dump(),
        }
        if conversation is not None:
            _, answered = conversations.record(conversation, frame.content, reply)
            done["message_id"] = answered.id
        send(done)
    except _SenderGone:
        request.control_plane.remove_connection(request.tenant_id, connection_id)
        return Response.empty(410)
    return Response.empty(200)


@app.websocket("broadcast", body=BroadcastFrame)
def broadcast_route(request: Request[BroadcastFrame]) -> Response:
    request.require_role(deployment.settings().admin_role)
    result = broadcast(
        request.tenant_id,
        {"type": "broadcast", "from": request.user_id, "data": request.body.data},
        control_plane=request.control_plane,
        endpoint=deployment.settings().websocket_endpoint,
    )
    return Response({"sent": len(result.sent), "gone": len(result.gone)}, 200)


@app.websocket("$default")
def unknown(request: Request[None]) -> Response:
    raise InvalidRequest("unknown action: use 'chat' or 'broadcast'")


#: A ``ref`` longer than the chat frame allows is not echoed.
_MAX_REF = 128
_MAX_BODY_FOR_REF = 128 * 1024  # API Gateway's WebSocket message quota


def _ref(body: bytes) -> str | None:
    """The ``ref`` of a message, even one that failed validation; ``None`` if absent."""
    if len(body) > _MAX_BODY_FOR_REF:
        return None
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    ref = message.get("ref") if isinstance(message, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= _MAX_REF else None


def _send_error(event: Mapping[str, Any], result: Mapping[str, Any]) -> None:
    """Post a message route's error answer to the connection that sent the message.

    Nothing for ``$connect`` (its status refuses the handshake), nor for a caller whose
    connection is gone (410). Best effort: a failure to tell is logged, never raised.
    """
    status = result.get("statusCode")
    if not isinstance(status, int) or status < 400 or status == 410:
        return
    try:
        incoming = parse_event(event)
        if incoming.event_type != "MESSAGE" or not incoming.connection_id:
            return
        answer = json.loads(result.get("body") or "null")
        if not isinstance(answer, dict) or "error" not in answer:
            return
        frame: dict[str, Any] = {"type": "error", "error": answer["error"]}
        ref = _ref(incoming.body)
        if ref is not None:
            frame["ref"] = ref
        endpoint = endpoint_for(incoming, deployment.settings().websocket_endpoint)
        post(endpoint, incoming.connection_id, frame)
    except Exception as exc:
        log.warning("could not send the error frame: %s", type(exc).__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point: the app's answer, and errors sent to the caller as frames."""
    result = app(event, context)
    _send_error(event, result)
    return result
