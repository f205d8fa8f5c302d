"""The chat function on the embedded providers (sqlite, echo, local), through HTTP API
and REST API events: conversations, paging, isolation, the OpenAI-compatible route,
tenants that cannot be served, and credential rotation."""

from __future__ import annotations

import json
from typing import Any

from tenantkit_runtime import deployment
from tenantkit_runtime.functions import chat

from .conftest import PRESIGN_KEY


def call(event: dict[str, Any]) -> dict[str, Any]:
    return chat.handler(event, None)


def new_conversation(events: Any, body: Any, **who: Any) -> str:
    created = call(events.http("POST", "/conversations", body={}, **who))
    assert created["statusCode"] == 201, created
    return str(body(created)["id"])


def test_send_messages_with_history_and_usage(tenants, events, body) -> None:
    cid = new_conversation(events, body)
    first = body(
        call(events.http("POST", f"/conversations/{cid}/messages", body={"content": "hello there"}))
    )
    assert first["message"]["content"] == "hello there"
    assert first["reply"]["content"] == "echo: hello there"
    assert first["reply"]["usage"]["input_tokens"] == 2
    assert first["reply"]["finish_reason"] == "stop"
    second = body(
        call(events.http("POST", f"/conversations/{cid}/messages", body={"content": "and again"}))
    )
    # the history went to the LLM: 2 + 3 ("echo: hello there") + 2 words
    assert second["reply"]["usage"]["input_tokens"] == 7
    conversation = body(call(events.http("GET", f"/conversations/{cid}")))
    assert conversation["message_count"] == 4
    assert conversation["title"] == "hello there"
    history = body(call(events.http("GET", f"/conversations/{cid}/messages")))
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "user", "assistant"]
    assert history["messages"][3]["usage"]["output_tokens"] == 3


def test_rest_api_events_work_the_same(tenants, events, body) -> None:
    created = call(events.rest("POST", "/conversations", body={"title": "via REST"}))
    assert created["statusCode"] == 201
    cid = body(created)["id"]
    sent = call(events.rest("POST", f"/conversations/{cid}/messages", body={"content": "hi"}))
    assert body(sent)["reply"]["content"] == "echo: hi"


def test_paging_with_cursors(tenants, events, body) -> None:
    ids = [new_conversation(events, body) for _ in range(3)]
    first = body(call(events.http("GET", "/conversations", query={"limit": "2"})))
    assert [c["id"] for c in first["conversations"]] == ids[::-1][:2]
    assert first["cursor"]
    second = body(
        call(events.http("GET", "/conversations", query={"limit": "2", "cursor": first["cursor"]}))
    )
    assert [c["id"] for c in second["conversations"]] == [ids[0]]
    assert second["cursor"] is None
    tampered = call(
        events.http("GET", "/conversations", query={"cursor": first["cursor"][:-2] + "xx"})
    )
    assert tampered["statusCode"] == 400
    assert body(tampered)["error"]["code"] == "invalid_cursor"
    other_tenant = call(
        events.http("GET", "/conversations", tenant="globex", query={"cursor": first["cursor"]})
    )
    assert other_tenant["statusCode"] == 400


def test_message_paging_newest_first(tenants, events, body) -> None:
    cid = new_conversation(events, body)
    for text in ("one", "two"):
        call(events.http("POST", f"/conversations/{cid}/messages", body={"content": text}))
    page = body(
        call(
            events.http(
                "GET", f"/conversations/{cid}/messages", query={"order": "desc", "limit": "3"}
            )
        )
    )
    assert [m["content"] for m in page["messages"]] == ["echo: two", "two", "echo: one"]
    rest = body(
        call(
            events.http(
                "GET",
                f"/conversations/{cid}/messages",
                query={"order": "desc", "limit": "3", "cursor": page["cursor"]},
            )
        )
    )
    assert [m["content"] for m in rest["messages"]] == ["one"]
    bad = call(events.http("GET", f"/conversations/{cid}/messages", query={"order": "up"}))
    assert bad["statusCode"] == 400


def test_conversations_are_private_to_user_and_tenant(tenants, events, body) -> None:
    cid = new_conversation(events, body)
    for who in ({"user": "mallory"}, {"tenant": "globex"}):
        assert call(events.http("GET", f"/conversations/{cid}", **who))["statusCode"] == 404
        assert (
            call(
                events.http("POST", f"/conversations/{cid}/messages", body={"content": "x"}, **who)
            )["statusCode"]
            == 404
        )
        assert call(events.http("DELETE", f"/conversations/{cid}", **who))["statusCode"] == 404
        listed = body(call(events.http("GET", "/conversations", **who)))
        assert listed["conversations"] == []


def test_delete_a_conversation_and_its_messages(tenants, events, body) -> None:
    cid = new_conversation(events, body)
    call(events.http("POST", f"/conversations/{cid}/messages", body={"content": "bye"}))
    deleted = call(events.http("DELETE", f"/conversations/{cid}"))
    assert deleted["statusCode"] == 204
    assert deleted["body"] == ""
    assert call(events.http("GET", f"/conversations/{cid}"))["statusCode"] == 404
    assert call(events.http("GET", f"/conversations/{cid}/messages"))["statusCode"] == 404
    from tenantkit_runtime import deployment

    leftover = deployment.resolver().resolve("acme").db.query("messages", cid)
    assert leftover.items == []


def test_message_validation(tenants, events, body) -> None:
    cid = new_conversation(events, body)
    empty = call(events.http("POST", f"/conversations/{cid}/messages", body={"content": ""}))
    assert empty["statusCode"] == 422
    assert body(empty)["error"]["details"][0]["path"] == "content"


# --- OpenAI-compatible route ---------------------------------------------------------------


def completions(events: Any, payload: dict[str, Any], **who: Any) -> dict[str, Any]:
    return call(events.http("POST", "/v1/chat/completions", body=payload, **who))


def test_openai_chat_completion(tenants, events, body) -> None:
    result = completions(
        events,
        {
            "model": "default",
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "hi from openai"}]},
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "user": "ignored",
        },
    )
    assert result["statusCode"] == 200, result
    answer = body(result)
    assert answer["object"] == "chat.completion"
    assert answer["id"].startswith("chatcmpl-")
    assert answer["model"] == "echo-1"
    choice = answer["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "echo: hi from openai",
        "refusal": None,
    }
    assert choice["finish_reason"] == "stop"
    assert answer["usage"]["prompt_tokens"] == 5
    assert answer["usage"]["completion_tokens"] == 4
    assert answer["usage"]["total_tokens"] == 9


def test_openai_tool_call_with_the_tenants_own_model_name(tenants, events, body) -> None:
    answer = body(
        completions(
            events,
            {
                "model": "echo-1",
                "messages": [{"role": "user", "content": "weather?"}],
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "weather",
                            "parameters": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "required": ["city"],
                            },
                        },
                    }
                ],
                "tool_choice": {"type": "function", "function": {"name": "weather"}},
            },
        )
    )
    assert answer["model"] == "echo-1"
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    call_ = choice["message"]["tool_calls"][0]
    assert call_["type"] == "function"
    assert call_["function"]["name"] == "weather"
    assert json.loads(call_["function"]["arguments"]) == {"city": ""}


def sse_events(text: str) -> list[Any]:
    assert text.endswith("data: [DONE]\n\n")
    chunks = []
    for block in text.split("\n\n"):
        if not block:
            continue
        assert block.startswith("data: ")
        payload = block[len("data: ") :]
        chunks.append(payload if payload == "[DONE]" else json.loads(payload))
    return chunks


def test_openai_stream_is_an_event_stream(tenants, events) -> None:
    result = completions(
        events,
        {
            "model": "default",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "stream these four words"}],
        },
    )
    assert result["statusCode"] == 200, result
    assert result["headers"]["content-type"].startswith("text/event-stream")
    chunks = sse_events(result["body"])
    assert chunks[-1] == "[DONE]"
    data = chunks[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in data)
    assert len({c["id"] for c in data}) == 1
    assert data[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in data if c["choices"])
    assert text == "echo: stream these four words"
    finishes = [c["choices"][0]["finish_reason"] for c in data if c["choices"]]
    assert finishes[-1] == "stop"
    assert all(f is None for f in finishes[:-1])
    assert data[-1]["choices"] == []
    assert data[-1]["usage"]["completion_tokens"] == 5
    assert all(c["usage"] is None for c in data[:-1])


def test_openai_stream_with_tool_calls(tenants, events) -> None:
    result = completions(
        events,
        {
            "model": "default",
            "stream": True,
            "messages": [{"role": "user", "content": "go"}],
            "tools": [{"type": "function", "function": {"name": "lookup"}}],
            "tool_choice": "required",
        },
    )
    data = sse_events(result["body"])[:-1]
    deltas = [c["choices"][0]["delta"] for c in data]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["id"]
    assert calls[0]["function"]["name"] == "lookup"
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {}
    assert data[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert "usage" not in data[-1]


def test_the_model_rule_default_own_model_or_alias(tenants, events, body, monkeypatch) -> None:
    hello = [{"role": "user", "content": "x"}]
    other = completions(events, {"model": "echo-large", "messages": hello})
    assert other["statusCode"] == 404
    assert body(other)["error"]["code"] == "model_not_found"
    assert body(other)["error"]["type"] == "invalid_request_error"
    monkeypatch.setenv("TENANTKIT_MODEL_ALIASES", "gpt-4o, gpt-4o-mini")
    deployment.reset()
    aliased = completions(events, {"model": "gpt-4o-mini", "messages": hello})
    assert aliased["statusCode"] == 200, aliased
    assert body(aliased)["model"] == "echo-1"  # the tenant's model answered
    models = body(call(events.http("GET", "/v1/models")))
    assert [m["id"] for m in models["data"]] == ["default", "echo-1", "gpt-4o", "gpt-4o-mini"]
    assert {m["object"] for m in models["data"]} == {"model"}


def test_openai_request_errors(tenants, events, body) -> None:
    unknown = completions(
        events, {"model": "default", "messages": [{"role": "user", "content": "x"}], "best_of": 2}
    )
    assert unknown["statusCode"] == 400
    assert body(unknown)["error"]["param"] == "best_of"
    assert body(unknown)["error"]["type"] == "invalid_request_error"
    assert set(body(unknown)["error"]) == {"message", "type", "param", "code"}
    several = completions(
        events, {"model": "default", "n": 2, "messages": [{"role": "user", "content": "x"}]}
    )
    assert several["statusCode"] == 400
    assert body(several)["error"]["param"] == "n"
    no_messages = completions(events, {"model": "default", "messages": []})
    assert no_messages["statusCode"] == 400
    bad_args = completions(
        events,
        {
            "model": "default",
            "messages": [
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
        },
    )
    assert bad_args["statusCode"] == 400
    assert "messages[0].tool_calls[0].function.arguments" in body(bad_args)["error"]["message"]


# --- tenants that cannot be served ---------------------------------------------------------


def test_a_broken_tenant_gets_503_and_the_others_keep_working(tenants, events, body) -> None:
    tenants.write("broken", '{"schema_version": 1, "tenant_id": "broken", "db": ')
    tenants.add("noplugin", llm={"provider": "no-such-llm"})
    tenants.add(
        "badbuild", db={"provider": "sqlite", "path": str(tenants.root / "missing" / "x.db")}
    )
    assert new_conversation(events, body)
    for tenant in ("broken", "noplugin", "badbuild"):
        result = call(events.http("POST", "/conversations", body={}, tenant=tenant))
        assert result["statusCode"] == 503, (tenant, result)
        error = body(result)["error"]
        assert error["message"] == "this tenant cannot be served right now"
        assert str(tenants.root) not in result["body"]
        assert new_conversation(events, body)  # acme, in the same process
        assert new_conversation(events, body, tenant="globex")


def test_unknown_tenant_is_404(tenants, events, body) -> None:
    result = call(events.http("GET", "/conversations", tenant="initech"))
    assert result["statusCode"] == 404
    assert body(result)["error"]["code"] == "tenant_not_found"


def test_planted_credentials_never_reach_responses_or_logs(
    tenants, events, body, json_logs
) -> None:
    tenants.add(
        "leaky",
        llm={
            "provider": "echo",
            "fail_with": {"error": "invalid_request", "message": f"rejected key {PRESIGN_KEY}"},
        },
    )
    cid = new_conversation(events, body, tenant="leaky")
    result = call(
        events.http("POST", f"/conversations/{cid}/messages", body={"content": "x"}, tenant="leaky")
    )
    assert result["statusCode"] == 400
    assert "rejected key **********" in body(result)["error"]["message"]
    assert PRESIGN_KEY not in result["body"]
    assert json_logs.records
    assert PRESIGN_KEY not in json_logs.text


# --- credential rotation ---------------------------------------------------------------------


def revoked(tenants: Any, tenant_id: str) -> dict[str, Any]:
    return tenants.add(
        tenant_id,
        llm={"provider": "echo", "fail_with": {"error": "authentication_error"}},
    )


def test_auth_error_refreshes_the_config_once_and_retries(tenants, events, body) -> None:
    revoked(tenants, "rotating")
    cid = new_conversation(events, body, tenant="rotating")  # caches the revoked config
    tenants.add("rotating", llm={"provider": "echo", "prefix": "rotated: "})
    sent = call(
        events.http(
            "POST", f"/conversations/{cid}/messages", body={"content": "hi"}, tenant="rotating"
        )
    )
    assert sent["statusCode"] == 201, sent
    assert body(sent)["reply"]["content"] == "rotated: hi"


def test_auth_error_without_rotation_is_502(tenants, events, body) -> None:
    revoked(tenants, "revoked")
    cid = new_conversation(events, body, tenant="revoked")
    sent = call(
        events.http(
            "POST", f"/conversations/{cid}/messages", body={"content": "hi"}, tenant="revoked"
        )
    )
    assert sent["statusCode"] == 502
    assert body(sent)["error"]["code"] == "authentication_error"
