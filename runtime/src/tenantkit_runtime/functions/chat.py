"""The chat function: conversations, messages answered by the tenant's LLM, and an
OpenAI-compatible ``POST /v1/chat/completions``.

===========================================  ===========================================
``POST /conversations``                      start a conversation (``{"title"?}``), 201
``GET /conversations``                       the caller's conversations, newest first
                                             (``?limit=&cursor=``)
``GET /conversations/{id}``                  one conversation
``DELETE /conversations/{id}``               delete it with its messages, 204
``GET /conversations/{id}/messages``         its messages, oldest first
                                             (``?limit=&cursor=&order=desc``)
``POST /conversations/{id}/messages``        send ``{"content"}``; the LLM's reply is
                                             stored with its usage; 201 with both
``POST /v1/chat/completions``                OpenAI Chat Completions, stream or not
``POST /v1/images/generations``              OpenAI image generation (``{"prompt", "n"?,
                                             "size"?}``), for tenants whose plan has the
                                             feature ``image_generation`` (403 otherwise)
===========================================  ===========================================

Every LLM call is within the tenant's ``limits.llm_tokens_per_day``
(:mod:`tenantkit_runtime.usage`): refused with 429 ``quota_exceeded`` once the day's
tokens are used up, charged with the provider's usage after the reply.
"""

from __future__ import annotations

import base64
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit import Message
from tenantkit.errors import InvalidRequest
from tenantkit.llm import ImageRequest
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.conversations import Conversations
from tenantkit_runtime.openai_compat import (
    ChatCompletionRequest,
    completion,
    event_stream,
    to_chat_request,
)

__all__ = ["app", "handler"]

app = App("chat")

MAX_MESSAGE_CHARS = 32_000


class NewConversation(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    title: str | None = Field(default=None, min_length=1, max_length=200)


class NewMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    content: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


def _conversations(request: Request[Any]) -> Conversations:
    return Conversations(request.db, request.user_id)


@app.post("/conversations", body=NewConversation)
def create_conversation(request: Request[NewConversation]) -> Response:
    conversation = _conversations(request).create(request.body.title)
    return Response(conversation, status=201)


@app.get("/conversations")
def list_conversations(request: Request[None]) -> dict[str, Any]:
    items, cursor = _conversations(request).page(
        cursor=request.query.get("cursor") or None, limit=request.query_int("limit", 20)
    )
    return {"conversations": items, "cursor": cursor}


@app.get("/conversations/{conversation_id}")
def get_conversation(request: Request[None]) -> Any:
    return _conversations(request).get(request.path_params["conversation_id"])


@app.delete("/conversations/{conversation_id}")
def delete_conversation(request: Request[None]) -> Response:
    conversation_id = request.path_params["conversation_id"]
    _conversations(request).delete(conversation_id)
    request.audit("conversation.delete", {"conversation_id": conversation_id})
    return Response.empty()


@app.get("/conversations/{conversation_id}/messages")
def list_messages(request: Request[None]) -> dict[str, Any]:
    order = request.query.get("order", "asc")
    if order not in ("asc", "desc"):
        raise InvalidRequest("query parameter 'order' must be 'asc' or 'desc'")
    items, cursor = _conversations(request).messages(
        request.path_params["conversation_id"],
        cursor=request.query.get("cursor") or None,
        limit=request.query_int("limit", 50),
        newest_first=order == "desc",
    )
    return {"messages": items, "cursor": cursor}


@app.post("/conversations/{conversation_id}/messages", body=NewMessage)
def send_message(request: Request[NewMessage]) -> Response:
    conversations = _conversations(request)
    conversation = conversations.get(request.path_params["conversation_id"])
    history = conversations.history(conversation.id)
    reply = request.llm.chat(
        messages=[*history, Message(role="user", content=request.body.content)]
    )
    asked, answered = conversations.record(conversation, request.body.content, reply)
    return Response({"message": asked, "reply": answered}, status=201)


@app.post("/v1/chat/completions", body=ChatCompletionRequest)
def chat_completions(request: Request[ChatCompletionRequest]) -> Response:
    body = request.body
    chat = to_chat_request(body)
    if not body.stream:
        return Response(completion(request.llm.chat(chat), requested_model=body.model))
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    with request.llm.stream(chat) as events:
        text = event_stream(events, requested_model=body.model, include_usage=include_usage)
    return Response(
        text,
        content_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache"},
    )


class ImageGeneration(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    prompt: str = Field(min_length=1, max_length=4000)
    model: str | None = Field(default=None, max_length=100)
    n: int = Field(default=1, ge=1, le=4)
    size: str | None = Field(default=None, pattern=r"^[0-9]{2,4}x[0-9]{2,4}$")
    response_format: Literal["b64_json"] = "b64_json"


@app.post("/v1/images/generations", body=ImageGeneration)
def generate_images(request: Request[ImageGeneration]) -> dict[str, Any]:
    request.require_feature("image_generation")
    body = request.body
    result = request.llm.generate_image(
        ImageRequest(
            prompt=body.prompt,
            model=None if body.model in (None, "", "default") else body.model,
            n=body.n,
            size=body.size,
        )
    )
    return {
        "created": int(time.time()),
        "data": [{"b64_json": base64.b64encode(image.data).decode()} for image in result.images],
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return app(event, context)
