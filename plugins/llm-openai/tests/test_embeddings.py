"""Embeddings: the embeddings API, vectors in input order whatever order they arrive in."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from tenantkit import EmbeddingRequest, TenantLLM
from tenantkit.errors import AuthenticationError, InvalidRequest, ProviderError
from tenantkit_llm_openai import AzureOpenAILLM, OpenAILLM

EMBEDDINGS = "https://api.openai.com/v1/embeddings"
AZURE = "https://acme-res.openai.azure.com/openai/deployments/{}/embeddings"


def test_openai_embeddings_in_input_order(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(EMBEDDINGS).mock(return_value=wire.response("openai/embeddings.json"))
    tenant = TenantLLM(
        openai_llm, tenant_id="acme", provider="openai", capabilities=OpenAILLM.capabilities
    )
    result = tenant.embed(input=["first text", "second text"], dimensions=4)
    assert json.loads(route.calls.last.request.content) == {
        "model": "text-embedding-3-small",
        "input": ["first text", "second text"],
        "encoding_format": "float",
        "dimensions": 4,
    }
    data = wire.body("openai/embeddings.json")["data"]
    assert result.vectors == [data[1]["embedding"], data[0]["embedding"]]  # by index
    assert result.usage.input_tokens == 8
    assert result.model == "text-embedding-3-small"
    assert result.request_id == "req_emb0000000000000000000000000001"


def test_a_request_model_overrides_the_embedding_model(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    route = api.post(EMBEDDINGS).mock(return_value=wire.response("openai/embeddings.json"))
    openai_llm.embed(EmbeddingRequest(input=["a", "b"], model="text-embedding-3-large"))
    assert json.loads(route.calls.last.request.content)["model"] == "text-embedding-3-large"


def test_azure_embeddings_go_to_the_embedding_deployment(api: respx.MockRouter, wire: Any) -> None:
    from tenantkit_llm_openai import AzureOpenAISettings

    llm = AzureOpenAILLM(
        AzureOpenAISettings.model_validate(
            {
                "endpoint": "https://acme-res.openai.azure.com",
                "api_key": "az-plant-TOPSECRET-9876543210",
                "deployment": "gpt-4o-prod",
                "embedding_deployment": "embed-small",
            }
        )
    )
    route = api.post(AZURE.format("embed-small")).mock(
        return_value=wire.response("azure/embeddings.json")
    )
    result = llm.embed(EmbeddingRequest(input=["hello"]))
    sent = route.calls.last.request
    assert sent.url.params["api-version"] == "2024-10-21"
    assert sent.headers["api-key"] == "az-plant-TOPSECRET-9876543210"
    assert "model" not in json.loads(sent.content)  # the URL names the deployment
    assert result.vectors == [[0.0119, -0.0218, 0.0057]]
    assert result.request_id == "8f1c0000-0000-4000-8000-000000000001"
    llm.close()


def test_azure_without_an_embedding_deployment_names_the_setting(
    azure_llm: AzureOpenAILLM,
) -> None:
    with pytest.raises(InvalidRequest, match="embedding_deployment"):
        azure_llm.embed(EmbeddingRequest(input=["hello"]))


@pytest.mark.parametrize(
    "body",
    [
        {"object": "list", "data": []},
        {"data": [{"index": 0, "embedding": [0.1]}, {"index": 0, "embedding": [0.2]}]},
        {"data": [{"index": 0, "embedding": ["x"]}, {"index": 1, "embedding": [0.2]}]},
        {"data": [{"index": 0, "embedding": [0.1]}, {"index": 5, "embedding": [0.2]}]},
    ],
)
def test_malformed_answers_are_provider_errors(
    api: respx.MockRouter, openai_llm: OpenAILLM, body: dict[str, Any]
) -> None:
    api.post(EMBEDDINGS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(ProviderError):
        openai_llm.embed(EmbeddingRequest(input=["a", "b"]))


def test_a_revoked_key_is_an_authentication_error_without_the_key(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM, openai_key: str
) -> None:
    api.post(EMBEDDINGS).mock(return_value=wire.response("openai/error_401.json"))
    with pytest.raises(AuthenticationError) as caught:
        openai_llm.embed(EmbeddingRequest(input=["a"]))
    assert openai_key not in str(caught.value)
