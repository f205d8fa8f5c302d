"""EMF metrics through the handlers: one line per invocation, per-tenant dimensions,
errors by family, throttles, LLM calls and tokens (chat, streams), the limit-refusal
helper; and the log lines' function, cold start and X-Ray trace id.

The lines are read back and checked against the EMF specification's structure:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantkit_runtime import app as app_module
from tenantkit_runtime import metrics
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.functions import chat, config


def emf_lines(text: str) -> list[dict[str, Any]]:
    """The EMF documents among stdout's lines, each checked against the spec."""
    found = []
    for line in text.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        aws = document["_aws"]
        assert isinstance(aws["Timestamp"], int)
        names: list[str] = []
        for directive in aws["CloudWatchMetrics"]:
            assert directive["Namespace"] == "tenantkit"
            assert 1 <= len(directive["Metrics"]) <= metrics.MAX_METRICS
            for dimension_set in directive["Dimensions"]:
                assert 1 <= len(dimension_set) <= metrics.MAX_DIMENSIONS
                for key in dimension_set:
                    assert isinstance(document[key], str), key  # a root member, a string
            for definition in directive["Metrics"]:
                assert definition["Unit"] in ("Count", "Milliseconds")
                value = document[definition["Name"]]
                values = value if isinstance(value, list) else [value]
                assert 1 <= len(values) <= metrics.MAX_VALUES
                assert all(isinstance(v, int | float) for v in values)
                names.append(definition["Name"])
        assert len(names) == len(set(names))
        found.append(document)
    return found


def dimension_sets(document: dict[str, Any], metric: str) -> list[list[str]]:
    for directive in document["_aws"]["CloudWatchMetrics"]:
        if any(d["Name"] == metric for d in directive["Metrics"]):
            return list(directive["Dimensions"])
    raise AssertionError(f"{metric} is not in the line")


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTKIT_METRICS", "emf")
    monkeypatch.delenv("TENANTKIT_METRICS_NAMESPACE", raising=False)


def test_one_line_per_request_with_the_tenant(tenants, events, body, emf, capsys) -> None:
    created = chat.handler(events.http("POST", "/conversations", body={}), None)
    assert created["statusCode"] == 201
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["function"] == "chat"
    assert line["tenant"] == "acme"
    assert line["Requests"] == 1
    assert line["Latency"] > 0
    assert line["CallerErrors"] == line["ProviderErrors"] == line["InternalErrors"] == 0
    assert line["ConfigurationErrors"] == line["Throttles"] == 0
    assert dimension_sets(line, "Requests") == [["function", "tenant"], ["function"]]
    assert "provider" not in line  # no LLM call in this request


def test_llm_calls_and_tokens_by_provider(tenants, events, body, emf, capsys) -> None:
    cid = body(chat.handler(events.http("POST", "/conversations", body={}), None))["id"]
    capsys.readouterr()
    sent = chat.handler(
        events.http("POST", f"/conversations/{cid}/messages", body={"content": "three words here"}),
        None,
    )
    assert sent["statusCode"] == 201
    (line,) = emf_lines(capsys.readouterr().out)  # request and LLM metrics share it
    usage = body(sent)["reply"]["usage"]
    assert line["provider"] == "echo"
    assert line["LLMCalls"] == 1
    assert line["LLMErrors"] == 0
    assert line["LLMInputTokens"] == usage["input_tokens"] == 3
    assert line["LLMOutputTokens"] == usage["output_tokens"]
    assert line["LLMLatency"] >= 0
    assert dimension_sets(line, "LLMCalls") == [["function", "tenant", "provider"], ["provider"]]
    assert line["Requests"] == 1


def test_a_stream_is_one_call_with_its_usage(tenants, events, emf, capsys) -> None:
    request = {
        "model": "default",
        "messages": [{"role": "user", "content": "stream me four"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    answered = chat.handler(events.http("POST", "/v1/chat/completions", body=request), None)
    assert answered["statusCode"] == 200
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["LLMCalls"] == 1
    assert line["LLMInputTokens"] == 3
    assert line["LLMOutputTokens"] > 0


def test_a_provider_failure_counts_by_family_and_as_a_throttle(
    tenants, events, emf, capsys
) -> None:
    tenants.add("acme", llm={"provider": "echo", "fail_with": {"error": "quota_exceeded"}})
    request = {"model": "default", "messages": [{"role": "user", "content": "hi"}]}
    answered = chat.handler(events.http("POST", "/v1/chat/completions", body=request), None)
    assert answered["statusCode"] == 429
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["ProviderErrors"] == 1
    assert line["Throttles"] == 1
    assert line["CallerErrors"] == line["InternalErrors"] == 0
    assert line["LLMCalls"] == 1
    assert line["LLMErrors"] == 1
    assert "LLMInputTokens" not in line


def test_errors_by_family(tenants, events, emf, capsys) -> None:
    missing = chat.handler(events.http("GET", "/conversations/nope"), None)
    assert missing["statusCode"] == 404
    tenants.write("globex", "{ not json")
    broken = chat.handler(events.http("GET", "/conversations", tenant="globex"), None)
    assert broken["statusCode"] == 503
    caller, configuration = emf_lines(capsys.readouterr().out)
    assert (caller["tenant"], caller["CallerErrors"], caller["ConfigurationErrors"]) == (
        "acme",
        1,
        0,
    )
    assert configuration["tenant"] == "globex"
    assert configuration["ConfigurationErrors"] == 1
    assert configuration["CallerErrors"] == 0


def test_an_unexpected_error_is_internal(tenants, events, emf, capsys) -> None:
    broken = App("broken")

    @broken.get("/boom")
    def boom(request: Request[None]) -> None:
        raise RuntimeError("a bug")

    assert broken(events.http("GET", "/boom"), None)["statusCode"] == 500
    (line,) = emf_lines(capsys.readouterr().out)
    assert line["InternalErrors"] == 1
    assert line["function"] == "broken"


def test_no_tenant_no_tenant_dimension(tenants, events, emf, capsys) -> None:
    refused = chat.handler(
        events.http("GET", "/conversations", tenant=None, user=None, roles=None), None
    )
    assert refused["statusCode"] == 401
    (line,) = emf_lines(capsys.readouterr().out)
    assert "tenant" not in line
    assert dimension_sets(line, "Requests") == [["function"]]
    assert line["CallerErrors"] == 1


def test_limit_refused_helper_coalesces_into_the_line(tenants, events, emf, capsys) -> None:
    limited = App("limited")

    @limited.get("/work")
    def work(request: Request[None]) -> dict[str, str]:
        metrics.limit_refused(request.tenant_id, "requests_per_minute")
        metrics.limit_refused(request.tenant_id, "requests_per_minute")
        metrics.limit_refused(request.tenant_id, "llm_tokens_per_day")
        return {}

    limited(events.http("GET", "/work"), None)
    lines = emf_lines(capsys.readouterr().out)
    assert len(lines) == 2  # a second limit needs its own "limit" value: a second line
    per_limit = {line["limit"]: line["LimitRefused"] for line in lines}
    assert per_limit == {"requests_per_minute": [1, 1], "llm_tokens_per_day": 1}
    assert all(line["tenant"] == "acme" for line in lines)
    first = next(line for line in lines if line["limit"] == "requests_per_minute")
    assert dimension_sets(first, "LimitRefused") == [["tenant", "limit"], ["limit"]]


def test_off_unless_on_lambda_or_asked(tenants, events, monkeypatch, capsys) -> None:
    monkeypatch.delenv("TENANTKIT_METRICS", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    chat.handler(events.http("GET", "/conversations"), None)
    assert emf_lines(capsys.readouterr().out) == []
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tenantkit-chat")
    assert metrics.enabled()
    monkeypatch.setenv("TENANTKIT_METRICS", "off")
    assert not metrics.enabled()


def test_invocation_limits_and_bad_dimensions() -> None:
    written: list[str] = []
    invocation = metrics.Invocation("chat", tenant="acme", write=written.append)
    for i in range(metrics.MAX_METRICS + 5):
        invocation.request(f"M{i}", i)
    invocation.request("NotANumber", float("nan"))
    invocation.flush()
    documents = emf_lines("".join(written))
    assert len(documents) == 2
    assert sum(len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in documents) == 105
    written.clear()
    for _ in range(metrics.MAX_VALUES + 1):
        invocation.request("Latency", 1.0, "Milliseconds")
    invocation.flush()
    assert [
        len(d["Latency"]) if isinstance(d["Latency"], list) else 1
        for d in emf_lines("".join(written))
    ] == [metrics.MAX_VALUES, 1]
    with pytest.raises(ValueError, match="tenant"):
        metrics.Invocation("chat", tenant="bad\nid")
    with pytest.raises(ValueError, match="dimension set"):
        invocation.add("X", 1, "Count", dimensions={"a": "b"}, dimension_sets=(("c",),))


def test_log_lines_carry_function_cold_start_and_trace(
    tenants, events, json_logs, monkeypatch
) -> None:
    trace = "1-5759e988-bd862e3fe1be46a994272793"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={trace};Parent=53995c3f42cd8ad8;Sampled=1")
    monkeypatch.setattr(app_module, "_started", set())
    config.handler(events.http("GET", "/config/branding"), None)
    config.handler(events.http("GET", "/config/branding", user="bob"), None)
    done = [r for r in json_logs.records if r["message"].startswith("GET /config/branding")]
    assert [r["cold_start"] for r in done] == [True, False]
    for record, user in zip(done, ["alice", "bob"], strict=True):
        assert record["function"] == "config"
        assert record["trace_id"] == trace
        assert record["tenant_id"] == "acme"
        assert record["user_id"] == user
        assert record["request_id"].startswith("http-")


def test_trace_id_from_the_lambda_context_and_bad_headers(monkeypatch) -> None:
    from tenantkit_runtime import logs

    class Context:
        xray_trace_id = "Root=1-67891233-abcdef012345678912345678;Sampled=0"

    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    assert logs.trace_id(Context()) == "1-67891233-abcdef012345678912345678"
    assert logs.trace_id(None) is None
    monkeypatch.setenv("_X_AMZN_TRACE_ID", 'Root=1-"injected"\n;Sampled=1')
    assert logs.trace_id(None) is None
