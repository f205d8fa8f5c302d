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
    cosmos = {"x-ms-retry-after-ms": "250"}  # Cosmos DB's name for it
    assert classify("p", 429, ErrorInfo(), headers=cosmos).retry_after == 0.25
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


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Rate limit reached for gpt-4o on tokens per min (TPM). Please try again in 6ms.", 0.006),
        ("Too many requests. Try again in 2 s", 2.0),
        (
            "Please try again in 1.898s. Visit https://platform.openai.com/account/rate-limits",
            1.898,
        ),
        ("Please try again in 1m30.5s.", 90.5),
        ("try again in 3 seconds", 3.0),
        ("Please try again later.", None),
    ],
)
def test_retry_after_is_read_from_a_rate_limit_message(message: str, seconds: float | None) -> None:
    error = classify("prov", 429, ErrorInfo(code="rate_limit_exceeded", message=message))
    assert isinstance(error, errors.RateLimited)
    assert error.retry_after == (pytest.approx(seconds) if seconds is not None else None)


def test_a_retry_after_header_wins_over_the_message() -> None:
    info = ErrorInfo(code="rate_limit_exceeded", message="Please try again in 20s.")
    error = classify("prov", 429, info, headers={"retry-after": "3"})
    assert error.retry_after == 3.0


def test_a_message_wait_is_not_read_for_errors_that_are_not_retried() -> None:
    info = ErrorInfo(code="invalid_request_error", message="bad field, try again in 2s")
    assert classify("prov", 400, info).retry_after is None


def test_openai_request_too_large_is_an_invalid_request_never_retried() -> None:
    # https://platform.openai.com/docs/guides/rate-limits: a request above the whole
    # per-minute token limit fails whatever the wait.
    message = (
        "Request too large for gpt-4o in organization org-x on tokens per min (TPM): "
        "Limit 30000, Requested 30601. The input or output tokens must be reduced in "
        "order to run successfully."
    )
    error = classify("openai", 429, ErrorInfo(code="rate_limit_exceeded", message=message))
    assert type(error) is errors.InvalidRequest
    assert not error.retryable
    assert error.status == 429


def test_a_code_of_the_providers_own_table_is_not_refined_by_the_message() -> None:
    info = ErrorInfo(code="RESOURCE_EXHAUSTED", message="You exceeded your current quota")
    assert type(classify("gemini", 429, info)) is errors.QuotaExceeded
    own = classify("gemini", 429, info, codes={"RESOURCE_EXHAUSTED": errors.RateLimited})
    assert type(own) is errors.RateLimited


@respx.mock
def test_the_request_id_of_the_error_body_is_used_without_the_header() -> None:
    def parse(response: httpx.Response) -> ErrorInfo:
        body = response.json()
        return ErrorInfo(
            code=body["error"]["type"],
            message=body["error"]["message"],
            request_id=body.get("request_id"),
        )

    # https://platform.claude.com/docs/en/api/errors: the body repeats the request id.
    body = {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "Please try again later."},
        "request_id": "req_011CcR9mkMvXdaiWP4739PSN",
    }
    respx.post("https://api.example.test/v1/messages").mock(
        side_effect=[
            httpx.Response(429, json=body),
            httpx.Response(429, json=body, headers={"request-id": "req_header"}),
        ]
    )
    http = ProviderHTTP(
        "claude", "https://api.example.test", parse_error=parse, request_id_header="request-id"
    )
    with pytest.raises(errors.RateLimited) as caught:
        http.request("POST", "/v1/messages", json={})
    assert caught.value.request_id == "req_011CcR9mkMvXdaiWP4739PSN"
    with pytest.raises(errors.RateLimited) as caught:
        http.request("POST", "/v1/messages", json={})
    assert caught.value.request_id == "req_header"


@respx.mock
def test_bound_params_go_with_every_request_and_json_reads_the_body() -> None:
    route = respx.post("https://api.example.test/x").mock(
        side_effect=[
            httpx.Response(200, json={"ok": 1}),
            httpx.Response(200, text="<html>proxy</html>", headers={"x-req": "r9"}),
        ]
    )
    http = ProviderHTTP(
        "example",
        "https://api.example.test",
        params={"api-version": "2024-10-21"},
        parse_error=_parse,
        request_id_header="x-req",
    )
    assert http.json(http.request("POST", "/x", params={"extra": "1"})) == {"ok": 1}
    assert route.calls[0].request.url.params["api-version"] == "2024-10-21"
    assert route.calls[0].request.url.params["extra"] == "1"
    with pytest.raises(errors.ProviderUnavailable, match="malformed body") as caught:
        http.json(http.request("POST", "/x"))
    assert caught.value.retryable
    assert caught.value.request_id == "r9"


def test_stream_error_is_plain_before_content_and_interrupted_after() -> None:
    secret = "sk-planted-secret-0123456789"
    http = ProviderHTTP("example", "https://api.example.test", parse_error=_parse, secrets=[secret])
    info = ErrorInfo(code="overloaded_error", message=f"Overloaded ({secret})")
    before = http.stream_error(529, info, request_id="r1", delivered=False)
    assert type(before) is errors.ProviderUnavailable
    assert before.status is None
    assert before.message.startswith("the example stream reported overloaded_error: ")
    after = http.stream_error(529, info, request_id="r1", delivered=True)
    assert isinstance(after, errors.StreamInterrupted)
    assert isinstance(after.__cause__, errors.ProviderUnavailable)
    assert after.request_id == "r1"
    for error in (before, after):
        assert secret not in str(error)


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
