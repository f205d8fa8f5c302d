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
``POST /v1/embeddings``                      OpenAI Embeddings, floats or base64
``GET /v1/models``                           the model names the tenant's callers may use
===========================================  ===========================================

Every LLM call is within the tenant's ``limits.llm_tokens_per_day``
(:mod:`tenantkit_runtime.usage`): refused with 429 ``quota_exceeded`` once the day's
tokens are used up, charged with the provider's usage after the reply.


The ``/v1/`` routes are what OpenAI's clients call, so they answer as OpenAI does:
errors as ``{"error": {"message", "type", "param", "code"}}`` with OpenAI's statuses
(401 for a missing or refused token, 400 for a body it does not take, 404 for an
unknown model, 429 with ``Retry-After``). They are deployed without the API's
authorizer (API Gateway's own refusals are neither 401 nor in that shape): this
function verifies the bearer token itself, with the authorizer's verifier and
settings, and proceeds exactly as if the authorizer had passed its context on.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenantkit import Message
from tenantkit.errors import InvalidRequest
from tenantkit.llm import ImageRequest
from tenantkit_runtime import coldgc, deployment
from tenantkit_runtime.app import App, Request, Response
from tenantkit_runtime.conversations import Conversations
from tenantkit_runtime.events import parse_event
from tenantkit_runtime.http_errors import error_response

if TYPE_CHECKING:
    from tenantkit_runtime.openai_compat import ChatCompletionRequest, EmbeddingsBody

__all__ = ["app", "handler"]

log = logging.getLogger("tenantkit_runtime.chat")

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


# The OpenAI-compatible routes import their wire module on first use: a cold start
# that serves the conversations routes does not pay for its models.


def _compat() -> Any:
    from tenantkit_runtime import openai_compat

    return openai_compat


def _models(request: Request[Any]) -> tuple[str, str | None, tuple[str, ...]]:
    """The tenant's chat and embedding model names, and the deployment's aliases."""
    chat, embedding = _compat().tenant_models(request.tenant.config.llm.settings)
    return chat, embedding, deployment.settings().model_aliases


@app.get("/v1/models")
def list_models(request: Request[None]) -> dict[str, Any]:
    from tenantkit.llm import LLMCapability
    from tenantkit_runtime.openai_compat import models_list

    chat, embedding, aliases = _models(request)
    if LLMCapability.EMBEDDINGS not in request.llm.capabilities:
        embedding = None
    return models_list(
        chat=chat, embedding=embedding, aliases=aliases, owner=request.tenant.config.llm.provider
    )


@app.post("/v1/embeddings", body=lambda: _compat().EmbeddingsBody)
def embeddings(request: Request[EmbeddingsBody]) -> dict[str, Any]:
    from tenantkit_runtime.openai_compat import embeddings_answer, resolve_model

    body = request.body
    chat, embedding, aliases = _models(request)
    resolve_model(body.model, embedding or chat, aliases)
    result = request.llm.embed(input=body.texts(), dimensions=body.dimensions)
    return embeddings_answer(
        result.vectors,
        model=result.model or body.model,
        input_tokens=result.usage.input_tokens,
        encoding=body.encoding_format,
    )


@app.post("/v1/chat/completions", body=lambda: _compat().ChatCompletionRequest)
def chat_completions(request: Request[ChatCompletionRequest]) -> Response:
    from tenantkit_runtime.openai_compat import (
        DEFAULT_MODEL,
        completion,
        event_stream,
        resolve_model,
        to_chat_request,
    )

    body = request.body
    chat_model, _, aliases = _models(request)
    resolve_model(body.model, chat_model, aliases)
    chat = to_chat_request(body.model_copy(update={"model": DEFAULT_MODEL}))
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
    """The Lambda entry point; the ``/v1/`` routes answer as OpenAI's API does."""
    try:
        return _handle(event, context)
    finally:
        coldgc.resume()  # after the first invocation (see tenantkit_runtime.coldgc)


def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        incoming = parse_event(event, context)
    except Exception:
        return app(event, context)  # answers the malformed event itself
    if not incoming.path.startswith("/v1/"):
        return app(event, context)
    if incoming.identity is None:
        try:
            event = _authorized(event, incoming.headers.get("authorization"))
        except Exception as exc:
            answer = error_response(exc, request_id=incoming.request_id)
            log.info("openai route refused: %s", getattr(exc, "kind", type(exc).__name__))
            return _as_openai(answer.to_proxy_result())
    return _as_openai(app(event, context))


def _authorized(event: Mapping[str, Any], authorization: str | None) -> dict[str, Any]:
    """``event`` with the authorizer context the token proves, as API Gateway would
    pass it on; :class:`~tenantkit_runtime.auth.TokenRejected` if it proves nothing."""
    from tenantkit_runtime.auth import TokenRejected, bearer_token
    from tenantkit_runtime.functions.auth import default_verifier

    token = bearer_token(authorization)
    if token is None:
        raise TokenRejected(
            "You didn't provide an API key (Authorization: Bearer)", reason="missing"
        )
    identity = default_verifier().verify(token).identity
    context = dict(event.get("requestContext") or {})
    context["authorizer"] = {"lambda": identity.to_context()}
    return {**event, "requestContext": context}


def _as_openai(result: dict[str, Any]) -> dict[str, Any]:
    """An error answer's body in OpenAI's shape, validation failures as 400."""
    from tenantkit_runtime.openai_compat import openai_error

    status = result.get("statusCode", 500)
    if status < 400:
        return result
    try:
        error = json.loads(result.get("body") or "{}")["error"]
    except (ValueError, KeyError, TypeError):
        return result
    if status == 422:
        status = 400
    headers = dict(result.get("headers") or {})
    if error.get("request_id"):
        headers["x-request-id"] = error["request_id"]
    body = json.dumps(openai_error(status, error), separators=(",", ":"))
    return {**result, "statusCode": status, "headers": headers, "body": body}
