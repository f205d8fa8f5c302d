"""Fixtures for the claude provider's tests: the provider on a respx-mocked API, and
the recorded wire formats in ``fixtures/`` (each file names the page it reproduces)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from tenantkit_llm_claude import ClaudeLLM, ClaudeSettings

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://api.anthropic.test"
API_KEY = "sk-ant-api03-PLANTED-claude-key-0123456789"


class Wire:
    """The recorded answers of the Messages API."""

    def body(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
        return data

    def response(self, name: str, **body_updates: Any) -> httpx.Response:
        """A recorded JSON answer (status, headers and body), optionally altered."""
        recorded = self.body(name)
        body = {**recorded["body"], **body_updates}
        return httpx.Response(recorded["status"], headers=recorded["headers"], json=body)

    def sse(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    @staticmethod
    def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
        """The JSON body of a request the mocked API received."""
        body: dict[str, Any] = json.loads(route.calls[call].request.content)
        return body

    def stream(self, name: str, request_id: str = "req_stream_0001") -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "request-id": request_id},
            content=self.sse(name),
        )


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def settings() -> ClaudeSettings:
    return ClaudeSettings(
        api_key=API_KEY, model="claude-sonnet-4-5", base_url=BASE_URL, max_tokens=1024
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
def claude(settings: ClaudeSettings, api: respx.MockRouter) -> Iterator[ClaudeLLM]:
    llm = ClaudeLLM(settings)
    yield llm
    llm.close()


@pytest.fixture
def api_key() -> str:
    return API_KEY
