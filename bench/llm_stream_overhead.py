"""Per-chunk cost of streaming through each LLM plugin, against a bare parsing loop.

A 10,000-chunk event stream is built in memory in each provider's wire format and
served by ``httpx.MockTransport`` (via respx), one event per network read, as servers
flush them. Three ways of consuming the same bytes are timed side by side:

* ``bare``: a loop over the lines that decodes each ``data:`` JSON and picks the delta
  text (the least any client must do);
* ``plugin``: the provider's ``stream()``, from the HTTP response to typed events;
* ``tenant``: the same through ``TenantLLM.stream`` and the ``ChatStream`` assembler,
  as application code consumes it.

Each figure is the median of several interleaved runs, in microseconds per chunk; the
plugin's overhead is its figure minus the bare loop's. Target: an overhead of at most
20 µs per chunk.

    uv run python bench/llm_stream_overhead.py [--chunks 10000] [--runs 21]

Add a provider with an entry in :data:`CASES`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import respx

from tenantkit import ChatRequest, Message, TenantLLM
from tenantkit.llm import LLM
from tenantkit.retry import NO_RETRY


@dataclass(frozen=True)
class Case:
    """How to stream from one provider: where it posts, how to build it, its wire chunks."""

    url: str
    build: Callable[[], LLM]
    chunks: Callable[[int], list[bytes]]
    """``n`` text-delta events and the stream's closing events, one ``bytes`` each."""
    delta_text: Callable[[dict[str, object]], str]
    """What the bare loop extracts from one decoded chunk."""


# --- openai / azure-openai ------------------------------------------------------------------


def _chat_completions_chunks(n: int, *, azure: bool = False) -> list[bytes]:
    def event(chunk: dict[str, object]) -> bytes:
        return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"

    def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
        choice: dict[str, object] = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish,
        }
        if azure:
            choice["content_filter_results"] = {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": False, "severity": "safe"},
            }
        return {
            "id": "chatcmpl-BQ7aXHfFKJlw3RSxh1oS4aUvfe2Tj",
            "object": "chat.completion.chunk",
            "created": 1745680000,
            "model": "gpt-4o-mini-2024-07-18",
            "service_tier": "default",
            "system_fingerprint": "fp_44709d6fcb",
            "choices": [choice],
            "usage": None,
        }

    out = [event(chunk({"role": "assistant", "content": "", "refusal": None}))]
    out += [event(chunk({"content": f" token{i}"})) for i in range(n)]
    out.append(event(chunk({}, "stop")))
    usage = {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n}
    out.append(event({**chunk({}), "choices": [], "usage": usage}))
    out.append(b"data: [DONE]\n\n")
    return out


def _chat_completions_text(chunk: dict[str, object]) -> str:
    choices = chunk.get("choices") or []
    assert isinstance(choices, list)
    return str(choices[0]["delta"].get("content") or "") if choices else ""


def _openai() -> LLM:
    from tenantkit_llm_openai import OpenAILLM, OpenAISettings

    return OpenAILLM(OpenAISettings(api_key="sk-bench", model="gpt-4o-mini"))


def _azure() -> LLM:
    from tenantkit_llm_openai import AzureOpenAILLM, AzureOpenAISettings

    return AzureOpenAILLM(
        AzureOpenAISettings(
            endpoint="https://bench.openai.azure.com", api_key="bench", deployment="gpt-4o"
        )
    )


CASES: dict[str, Case] = {
    "openai": Case(
        url="https://api.openai.com/v1/chat/completions",
        build=_openai,
        chunks=_chat_completions_chunks,
        delta_text=_chat_completions_text,
    ),
    "azure-openai": Case(
        url="https://bench.openai.azure.com/openai/deployments/gpt-4o/chat/completions",
        build=_azure,
        chunks=lambda n: _chat_completions_chunks(n, azure=True),
        delta_text=_chat_completions_text,
    ),
}

# --- the measurement ------------------------------------------------------------------------

REQUEST = ChatRequest(messages=[Message(role="user", content="Count.")])


def bare(body: bytes, case: Case) -> int:
    """A bare loop over the lines: decode each ``data:`` payload, take its text."""
    text = []
    for line in body.split(b"\n"):
        if line.startswith(b"data: "):
            data = line[6:]
            if data == b"[DONE]":
                break
            text.append(case.delta_text(json.loads(data)))
    return len("".join(text))


def through_plugin(llm: LLM, _: int) -> int:
    return sum(1 for _ in llm.stream(REQUEST))


def through_tenant(llm: LLM, _: int) -> int:
    tenant = TenantLLM(
        llm, tenant_id="bench", provider="bench", capabilities=llm.capabilities, retry=NO_RETRY
    )
    with tenant.stream(REQUEST) as stream:
        return len(stream.response.text)


def measure(name: str, case: Case, n: int, runs: int) -> dict[str, float]:
    chunks = case.chunks(n)
    body = b"".join(chunks)

    def respond(request: httpx.Request) -> httpx.Response:
        def stream() -> Iterator[bytes]:
            yield from chunks

        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=stream())

    llm = case.build()
    times: dict[str, list[float]] = {"bare": [], "plugin": [], "tenant": []}
    try:
        with respx.mock(assert_all_called=False) as router:
            router.post(case.url).mock(side_effect=respond)
            through_plugin(llm, n)  # warm up: connection pool, caches
            for _ in range(runs):
                for label, run in (
                    ("bare", None),
                    ("plugin", through_plugin),
                    ("tenant", through_tenant),
                ):
                    start = time.perf_counter()
                    if run is None:
                        bare(body, case)
                    else:
                        run(llm, n)
                    times[label].append(time.perf_counter() - start)
    finally:
        llm.close()
    return {label: statistics.median(t) / n * 1e6 for label, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    print(f"{args.chunks} chunks per stream, median of {args.runs} runs, µs per chunk\n")
    print("| provider     | bare loop | plugin | tenant (ChatStream) | plugin overhead |")
    print("|--------------|----------:|-------:|--------------------:|----------------:|")
    for name, case in CASES.items():
        us = measure(name, case, args.chunks, args.runs)
        overhead = us["plugin"] - us["bare"]
        print(
            f"| {name:<12} | {us['bare']:9.1f} | {us['plugin']:6.1f} | {us['tenant']:19.1f} |"
            f" {overhead:15.1f} |"
        )
        verdict = "meets" if overhead <= 20 else "misses"
        print(
            f"  {name}: {overhead:.1f} µs per chunk over the bare loop ({verdict} the 20 µs target)"
        )


if __name__ == "__main__":
    main()
