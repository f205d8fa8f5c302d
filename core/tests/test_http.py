"""The shared HTTP plumbing: SSE parsing, error classification, transport failures."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
import respx

from tenantkit import errors
from tenantkit.http import (
    ErrorInfo,
    ProviderHTTP,
    classify,
    iter_sse,
    make_client,
    open_stream,
    send,
)


def _parse(response: httpx.Response) -> ErrorInfo:
    body = response.json()["error"]
    return ErrorInfo(code=body.get("code"), message=body.get("message", ""))


def test_sse_follows_the_event_stream_rules() -> None:
    lines = [
        ": a comment",
        "event: message_start",
        'data: {"a":',
        "data: 1}",
        "",
        "data:no-space",
        "id: 7",
        "retry: 300",
        "",
        "",
        "data: last without blank line",
    ]
    events = list(iter_sse(iter(lines)))
    assert [(e.event, e.data) for e in events] == [
        ("message_start", '{"a":\n1}'),
        ("message", "no-space"),
        ("message", "last without blank line"),
    ]
    assert events[1].id == "7"
    assert events[1].retry == 300


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        (400, "context_length_exceeded", "too long", errors.ContextWindowExceeded),
        (
            400,
            "invalid_request_error",
            "prompt is too long: 210000 tokens",
            errors.ContextWindowExceeded,
        ),
        (400, None, "bad field", errors.InvalidRequest),
        (401, "invalid_api_key", "Incorrect API key provided: sk-abc", errors.AuthenticationError),
        (403, "PERMISSION_DENIED", "nope", errors.PermissionDenied),
        (404, "DeploymentNotFound", "no deployment", errors.NotFound),
        (429, "insufficient_quota", "You exceeded your current quota", errors.QuotaExceeded),
        (429, "RESOURCE_EXHAUSTED", "slow down", errors.RateLimited),
        (500, None, "boom", errors.ProviderUnavailable),
        (504, None, "gateway", errors.Timeout),
        (529, "overloaded_error", "Overloaded", errors.ProviderUnavailable),
        (400, "content_filter", "filtered", errors.ContentFiltered),
    ],
)
def test_classify_by_status_then_code_then_message(
    status: int, code: str | None, message: str, expected: type[errors.ProviderError]
) -> None:
    error = classify("prov", status, ErrorInfo(code=code, message=message), request_id="req-1")
    assert type(error) is expected
    assert error.status == status
    assert error.provider == "prov"
    assert error.request_id == "req-1"


def test_auth_errors_never_repeat_the_provider_message() -> None:
    error = classify("prov", 401, ErrorInfo(code=None, message="key sk-secret-123 is wrong"))
    assert "sk-secret-123" not in str(error)
    assert "401" in str(error)


def test_retry_after_seconds_milliseconds_and_dates() -> None:
    assert classify("p", 429, ErrorInfo(), headers={"Retry-After": "3"}).retry_after == 3
    assert classify("p", 429, ErrorInfo(), headers={"retry-after-ms": "1500"}).retry_after == 1.5
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    after = classify("p", 429, ErrorInfo(), headers={"Retry-After": date}).retry_after
    assert after is not None
    assert 25 < after <= 31


@respx.mock
def test_send_maps_error_responses_and_transport_failures() -> None:
    client = make_client("https://api.example.test")
    respx.post("https://api.example.test/fail").respond(
        429,
        json={"error": {"code": "rate_limit_exceeded", "message": "wait"}},
        headers={"retry-after": "2", "x-request-id": "r-9"},
    )
    respx.post("https://api.example.test/down").mock(side_effect=httpx.ConnectError("refused"))
    respx.post("https://api.example.test/slow").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.RateLimited) as info:
        send(client, "p", "POST", "/fail", parse_error=_parse, request_id_header="x-request-id")
    assert info.value.retry_after == 2
    assert info.value.request_id == "r-9"
    assert info.value.retryable
    with pytest.raises(errors.ConnectionFailed):
        send(client, "p", "POST", "/down", parse_error=_parse)
    with pytest.raises(errors.Timeout):
        send(client, "p", "POST", "/slow", parse_error=_parse)


@respx.mock
def test_a_stream_that_breaks_midway_is_interrupted() -> None:
    class Broken(httpx.SyncByteStream):
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield b"data: one\n\n"
            raise httpx.ReadError("connection reset")

    client = make_client("https://api.example.test")
    respx.post("https://api.example.test/s").respond(200, stream=Broken())
    seen = []
    with (  # noqa: PT012 - the break happens mid-iteration
        pytest.raises(errors.StreamInterrupted),
        open_stream(client, "p", "POST", "/s", parse_error=_parse) as response,
    ):
        for event in iter_sse(response.iter_lines()):
            seen.append(event.data)
    assert seen == ["one"]


def test_retry_after_from_the_error_body_when_no_header_says() -> None:
    body_says = ErrorInfo(code="RESOURCE_EXHAUSTED", message="slow down", retry_after=2.5)
    assert classify("p", 429, body_says).retry_after == 2.5
    assert classify("p", 429, body_says, headers={"Retry-After": "4"}).retry_after == 4


def test_a_context_limit_message_is_a_context_window_error() -> None:
    message = "input length and `max_tokens` exceed context limit: 197626 + 8192 > 200000"
    error = classify("p", 400, ErrorInfo(code="invalid_request_error", message=message))
    assert type(error) is errors.ContextWindowExceeded


@respx.mock
def test_provider_http_binds_the_call_plumbing_once() -> None:
    secret = "sk-planted-secret-0123456789"
    route = respx.post("https://api.example.test/v1/things").mock(
        side_effect=[
            httpx.Response(200, json={"ok": True}, headers={"x-req": "r1"}),
            httpx.Response(
                429,
                json={"error": {"code": "slow_down", "message": f"key {secret} is busy"}},
                headers={"retry-after": "3", "x-req": "r2"},
            ),
        ]
    )
    http = ProviderHTTP(
        "example",
        "https://api.example.test",
        headers={"authorization": f"Bearer {secret}"},
        parse_error=_parse,
        codes={"slow_down": errors.Throttled},
        request_id_header="x-req",
        secrets=[secret],
    )
    response = http.request("POST", "/v1/things", json={"a": 1})
    assert response.json() == {"ok": True}
    assert http.request_id(response) == "r1"
    assert route.calls[0].request.headers["authorization"] == f"Bearer {secret}"
    with pytest.raises(errors.Throttled) as caught:
        http.request("POST", "/v1/things", json={"a": 1})
    assert caught.value.provider == "example"
    assert caught.value.request_id == "r2"
    assert caught.value.retry_after == 3.0
    assert secret not in str(caught.value)
    assert secret not in repr(http)
    http.close()
    assert http.client.is_closed


@respx.mock
def test_provider_http_streams_and_signs_each_request() -> None:
    class Stamp(httpx.Auth):
        def __init__(self) -> None:
            self.count = 0

        def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
            self.count += 1
            request.headers["x-signed"] = str(self.count)
            yield request

    route = respx.get("https://api.example.test/events").mock(
        return_value=httpx.Response(200, text="data: one\n\ndata: two\n\n")
    )
    stamp = Stamp()
    http = ProviderHTTP("example", "https://api.example.test", parse_error=_parse, auth=stamp)
    with http.stream("GET", "/events") as response:
        assert [e.data for e in iter_sse(response.iter_lines())] == ["one", "two"]
    http.request("GET", "/events")
    assert [call.request.headers["x-signed"] for call in route.calls] == ["1", "2"]


@respx.mock
def test_provider_http_accepts_the_statuses_it_is_told_are_answers() -> None:
    route = respx.put("https://upload.example.test/session")
    route.side_effect = [
        httpx.Response(308, headers={"range": "bytes=0-9"}),
        httpx.Response(308, headers={"range": "bytes=0-9"}),
    ]
    http = ProviderHTTP("example", "https://upload.example.test", parse_error=_parse)
    answer = http.request("PUT", "/session", content=b"0123456789", accept=(308,))
    assert (answer.status_code, answer.headers["range"]) == (308, "bytes=0-9")
    with pytest.raises(errors.ProviderError):
        http.request("PUT", "/session", content=b"0123456789")
    http.close()
