"""``azure-openai``: deployment URLs and the v1 API, ``api-key``, content filtering."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from tenantkit import ChatRequest, ChatStream, Message
from tenantkit.errors import ContentFiltered, InvalidRequest, NotFound
from tenantkit.llm import FinishEvent, StartEvent, TextDelta, UsageEvent
from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings

ENDPOINT = "https://acme-res.openai.azure.com"
DEPLOYMENT_CHAT = f"{ENDPOINT}/openai/deployments/gpt-4o-prod/chat/completions"
V1_CHAT = f"{ENDPOINT}/openai/v1/chat/completions"
HELLO = ChatRequest(messages=[Message(role="user", content="Hello")], max_tokens=100)


def _body(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


def test_deployment_url_api_version_and_key(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM, azure_key: str
) -> None:
    route = api.post(DEPLOYMENT_CHAT, params={"api-version": "2024-10-21"}).mock(
        return_value=wire.response("azure/chat_text.json")
    )
    reply = azure_llm.chat(HELLO)
    sent = route.calls.last.request
    assert sent.headers["api-key"] == azure_key
    assert "authorization" not in sent.headers
    body = _body(route)
    assert "model" not in body  # the URL names the deployment
    assert body["max_tokens"] == 100  # what the dated GA versions take
    assert reply.text == "Hello! How can I help you today?"
    assert reply.provider == "azure-openai"
    assert reply.request_id == "0d5c4a2e-7f1b-4a3e-9c8d-2b6f1e0a9d31"
    assert (reply.usage.input_tokens, reply.usage.cached_tokens) == (2048, 1920)


def test_request_model_names_another_deployment(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM
) -> None:
    route = api.post(
        f"{ENDPOINT}/openai/deployments/o4-mini-eu/chat/completions",
        params={"api-version": "2024-10-21"},
    ).mock(return_value=wire.response("azure/chat_text.json"))
    azure_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")], model="o4-mini-eu"))
    assert route.call_count == 1


@pytest.mark.parametrize("model", ["../secrets", "a/b", "x?y=1", ""])
def test_deployment_names_cannot_escape_the_path(
    api: respx.MockRouter, azure_llm: AzureOpenAILLM, model: str
) -> None:
    with pytest.raises(InvalidRequest, match=r"^model: "):
        azure_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")], model=model))


def test_v1_api_sends_the_deployment_as_model(
    api: respx.MockRouter, wire: Any, azure_v1_llm: AzureOpenAILLM, azure_key: str
) -> None:
    route = api.post(V1_CHAT).mock(return_value=wire.response("azure/chat_text.json"))
    azure_v1_llm.chat(HELLO)
    sent = route.calls.last.request
    assert "api-version" not in sent.url.params
    assert sent.headers["api-key"] == azure_key
    body = _body(route)
    assert body["model"] == "gpt-4o-prod"
    assert body["max_completion_tokens"] == 100
    azure_v1_llm.chat(ChatRequest(messages=[Message(role="user", content="hi")], model="o4-mini"))
    assert _body(route)["model"] == "o4-mini"


def test_preview_api_version_on_the_v1_path(api: respx.MockRouter, wire: Any) -> None:
    route = api.post(V1_CHAT, params={"api-version": "preview"}).mock(
        return_value=wire.response("azure/chat_text.json")
    )
    llm = AzureOpenAILLM(
        AzureOpenAISettings(
            endpoint=ENDPOINT, api_key="k" * 32, deployment="gpt-4o-prod", api_version="preview"
        )
    )
    try:
        llm.chat(HELLO)
    finally:
        llm.close()
    assert route.call_count == 1


def test_content_filter_error(api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM) -> None:
    api.post(DEPLOYMENT_CHAT).mock(
        return_value=wire.response("azure/error_400_content_filter.json")
    )
    with pytest.raises(ContentFiltered) as caught:
        azure_llm.chat(HELLO)
    error = caught.value
    assert not error.retryable
    assert (error.status, error.code) == (400, "content_filter")
    assert error.request_id == "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
    assert "filtered: hate=high" in error.message


def test_content_filter_finish(api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM) -> None:
    api.post(DEPLOYMENT_CHAT).mock(return_value=wire.response("azure/chat_content_filter.json"))
    reply = azure_llm.chat(HELLO)
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "content_filter")
    assert reply.text == ""


def test_wrong_deployment_is_not_found(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM
) -> None:
    api.post(DEPLOYMENT_CHAT).mock(return_value=wire.response("azure/error_404_deployment.json"))
    with pytest.raises(NotFound) as caught:
        azure_llm.chat(HELLO)
    assert caught.value.code == "DeploymentNotFound"
    assert caught.value.request_id == "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"


def test_stream_skips_the_prompt_filter_chunk(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM
) -> None:
    route = api.post(DEPLOYMENT_CHAT).mock(
        return_value=wire.stream("azure/stream_text.sse").response()
    )
    events = list(azure_llm.stream(HELLO))
    assert _body(route)["stream_options"] == {"include_usage": True}
    assert events[0] == StartEvent(
        id="chatcmpl-BleatwEUn3D8iXsgXpDqeOPEMuW3j",
        model="gpt-4o-2024-11-20",
        request_id="1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b",
    )
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello! How can I help?"
    assert isinstance(events[-2], UsageEvent)
    assert events[-2].usage.cached_tokens == 1664
    assert events[-1] == FinishEvent(reason="stop", raw_reason="stop")


def test_stream_filtered_mid_answer(
    api: respx.MockRouter, wire: Any, azure_v1_llm: AzureOpenAILLM
) -> None:
    api.post(V1_CHAT).mock(return_value=wire.stream("azure/stream_content_filter.sse").response())
    reply = ChatStream(iter(azure_v1_llm.stream(HELLO)), provider="azure-openai").response
    assert reply.text == "Here is how the story"
    assert (reply.finish_reason, reply.raw_finish_reason) == ("content_filter", "content_filter")
    assert reply.request_id == "8b9c0d1e-2f3a-4b4c-9d5e-6f7a8b9c0d1e"


def test_repr_names_the_deployment_not_the_key(azure_llm: AzureOpenAILLM, azure_key: str) -> None:
    text = repr(azure_llm)
    assert "gpt-4o-prod" in text
    assert azure_key not in text
