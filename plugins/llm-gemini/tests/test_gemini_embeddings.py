"""Embeddings through ``models.batchEmbedContents``, against the recorded wire format."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from tenantkit.errors import AuthenticationError, InvalidRequest, ProviderUnavailable
from tenantkit.llm import EmbeddingRequest
from tenantkit_llm_gemini import GeminiLLM

PATH = "/v1beta/models/gemini-embedding-001:batchEmbedContents"


def test_texts_are_embedded_in_one_batch(
    api: respx.MockRouter, wire: Any, gemini: GeminiLLM
) -> None:
    route = api.post(PATH).mock(return_value=wire.response("embed_batch.json"))
    result = gemini.embed(EmbeddingRequest(input=["What is life?", "How are you?"], dimensions=3))
    assert wire.sent(route) == {
        "requests": [
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "What is life?"}]},
                "outputDimensionality": 3,
            },
            {
                "model": "models/gemini-embedding-001",
                "content": {"parts": [{"text": "How are you?"}]},
                "outputDimensionality": 3,
            },
        ]
    }
    expected = [e["values"] for e in wire.body("embed_batch.json")["body"]["embeddings"]]
    assert result.vectors == expected
    assert result.model == "gemini-embedding-001"


def test_a_request_model_must_be_a_model_name(gemini: GeminiLLM) -> None:
    with pytest.raises(InvalidRequest, match="model"):
        gemini.embed(EmbeddingRequest(input=["x"], model="../files/x"))


def test_a_short_answer_is_a_provider_failure(api: respx.MockRouter, gemini: GeminiLLM) -> None:
    api.post(PATH).mock(return_value=httpx.Response(200, json={"embeddings": [{"values": [1]}]}))
    with pytest.raises(ProviderUnavailable, match="malformed"):
        gemini.embed(EmbeddingRequest(input=["a", "b"]))


def test_a_bad_key_is_an_authentication_error_without_the_key(
    api: respx.MockRouter, wire: Any, gemini: GeminiLLM, api_key: str
) -> None:
    api.post(PATH).mock(return_value=wire.response("error_api_key_invalid.json"))
    with pytest.raises(AuthenticationError) as caught:
        gemini.embed(EmbeddingRequest(input=["a"]))
    assert api_key not in str(caught.value)
