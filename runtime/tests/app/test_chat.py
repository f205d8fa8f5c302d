"""The chat function on the embedded providers, through HTTP API and REST API events."""

from __future__ import annotations

from typing import Any

from tenantkit_runtime.functions import chat


def call(event: dict[str, Any]) -> dict[str, Any]:
    return chat.handler(event, None)


def test_conversation_round_trip(tenants, events, body) -> None:
    created = call(events.http("POST", "/conversations", body={}))
    assert created["statusCode"] == 201, created
    conversation = body(created)
    sent = call(
        events.http(
            "POST", f"/conversations/{conversation['id']}/messages", body={"content": "hello there"}
        )
    )
    assert sent["statusCode"] == 201, sent
    exchange = body(sent)
    assert exchange["reply"]["content"] == "echo: hello there"
    assert exchange["reply"]["usage"]["input_tokens"] == 2
