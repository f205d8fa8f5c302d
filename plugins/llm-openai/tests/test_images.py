"""Image generation: the images API, results as bytes ready for storage."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx

from tenantkit import ImageRequest, TenantLLM
from tenantkit.errors import ContentFiltered, InvalidRequest
from tenantkit_llm_openai import AzureOpenAILLM, OpenAILLM

IMAGES = "https://api.openai.com/v1/images/generations"
AZURE_IMAGES = "https://acme-res.openai.azure.com/openai/deployments/dalle3/images/generations"


def test_gpt_image_b64(api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM) -> None:
    route = api.post(IMAGES).mock(return_value=wire.response("openai/images_b64.json"))
    tenant = TenantLLM(
        openai_llm, tenant_id="acme", provider="openai", capabilities=OpenAILLM.capabilities
    )
    result = tenant.generate_image(prompt="A small green square", size="1024x1024")
    assert json.loads(route.calls.last.request.content) == {
        "model": "gpt-image-1",
        "prompt": "A small green square",
        "n": 1,
        "size": "1024x1024",
    }
    [image] = result.images
    expected = base64.b64decode(wire.body("openai/images_b64.json")["data"][0]["b64_json"])
    assert image.data == expected
    assert image.data.startswith(b"\x89PNG")
    assert image.media_type == "image/png"
    assert (result.usage.input_tokens, result.usage.output_tokens) == (50, 50)
    assert result.request_id == "req_1a9e0000000000000000000000000001"
    assert result.model == "gpt-image-1"


def test_dall_e_asks_for_b64(api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM) -> None:
    route = api.post(IMAGES).mock(return_value=wire.response("openai/images_b64.json"))
    openai_llm.generate_image(ImageRequest(prompt="A square", model="dall-e-3"))
    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "dall-e-3"
    assert body["response_format"] == "b64_json"


def test_url_results_are_downloaded_without_credentials(
    api: respx.MockRouter, wire: Any, openai_llm: OpenAILLM
) -> None:
    api.post(IMAGES).mock(return_value=wire.response("openai/images_url.json"))
    png = base64.b64decode(wire.body("openai/images_b64.json")["data"][0]["b64_json"])
    url = wire.body("openai/images_url.json")["data"][0]["url"]
    download = api.get(url).mock(
        return_value=httpx.Response(200, content=png, headers={"content-type": "image/png"})
    )
    result = openai_llm.generate_image(ImageRequest(prompt="A square", model="my-image-model"))
    assert result.images[0].data == png
    sent = download.calls.last.request
    assert "authorization" not in sent.headers
    assert "openai-organization" not in sent.headers


def test_azure_image_deployment(
    api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM
) -> None:
    route = api.post(AZURE_IMAGES, params={"api-version": "2024-10-21"}).mock(
        return_value=wire.response("azure/images_b64.json")
    )
    result = azure_llm.generate_image(ImageRequest(prompt="A small green square", n=1))
    assert "model" not in json.loads(route.calls.last.request.content)
    assert result.images[0].media_type == "image/png"
    assert result.request_id == "6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c"


def test_azure_without_image_deployment(
    api: respx.MockRouter, azure_v1_llm: AzureOpenAILLM
) -> None:
    with pytest.raises(InvalidRequest, match="image_deployment"):
        azure_v1_llm.generate_image(ImageRequest(prompt="A square"))


def test_azure_v1_image_model(
    api: respx.MockRouter, wire: Any, azure_v1_llm: AzureOpenAILLM
) -> None:
    route = api.post("https://acme-res.openai.azure.com/openai/v1/images/generations").mock(
        return_value=wire.response("azure/images_b64.json")
    )
    azure_v1_llm.generate_image(ImageRequest(prompt="A square", model="gpt-image-1"))
    assert json.loads(route.calls.last.request.content)["model"] == "gpt-image-1"


def test_filtered_image_prompt(api: respx.MockRouter, wire: Any, azure_llm: AzureOpenAILLM) -> None:
    doc = wire.json("azure/error_400_content_filter.json")
    api.post(AZURE_IMAGES).mock(return_value=httpx.Response(400, json=doc["body"]))
    with pytest.raises(ContentFiltered):
        azure_llm.generate_image(ImageRequest(prompt="..."))
