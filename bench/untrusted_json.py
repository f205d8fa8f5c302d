"""What reading request bodies as untrusted JSON costs, side by side, in one process.

Two ways to turn a request body into a validated model, timed interleaved on the
same bodies:

* ``pydantic``: ``Model.model_validate_json(body)`` (what the runtime did before:
  pydantic's own parser, nesting bounded by its own limit, the last of repeated keys
  wins);
* ``untrusted``: ``Model.model_validate(tenantkit.untrusted.loads(body))`` (what the
  runtime does: ``json`` with a hook that refuses repeated keys, the nesting bounded,
  then validation of the parsed value).

Bodies: an OpenAI chat completion request with a tool (about 1 KB), the same with a
long conversation (about 100 KB), and a 1 MiB one (the functions' body limit).

Run::

    uv run python bench/untrusted_json.py [ROUNDS]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable


def _body(turns: int, filler: int) -> bytes:
    messages = [{"role": "system", "content": "You are terse."}]
    for i in range(turns):
        messages.append({"role": "user", "content": f"question {i} " + "x" * filler})
        messages.append({"role": "assistant", "content": f"answer {i} " + "y" * filler})
    return json.dumps(
        {
            "model": "default",
            "messages": messages,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "description": "find a record",
                        "parameters": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}, "deep": {"type": "object"}},
                        },
                    },
                }
            ],
            "temperature": 0.2,
        }
    ).encode()


def main(rounds: int) -> None:
    from tenantkit import untrusted
    from tenantkit_runtime.openai_compat import ChatCompletionRequest

    ChatCompletionRequest.model_rebuild()
    bodies = {
        "1 KB": _body(3, 80),
        "100 KB": _body(200, 240),
        "1 MiB": _body(2000, 250),
    }
    ways: dict[str, Callable[[bytes], object]] = {
        "pydantic": ChatCompletionRequest.model_validate_json,
        "untrusted": lambda b: ChatCompletionRequest.model_validate(
            untrusted.loads(b, what="the body")
        ),
    }
    print(f"python {sys.version.split()[0]}, {rounds} rounds, medians in microseconds")
    for name, body in bodies.items():
        repeat = max(1, 2_000_000 // len(body))
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(rounds):
            for way, parse in ways.items():
                started = time.perf_counter()
                for _ in range(repeat):
                    parse(body)
                times[way].append((time.perf_counter() - started) / repeat * 1e6)
        medians = {way: statistics.median(t) for way, t in times.items()}
        ratio = medians["untrusted"] / medians["pydantic"]
        print(
            f"{name:>7} ({len(body):>8} bytes): "
            + ", ".join(f"{way} {m:.1f}" for way, m in medians.items())
            + f"; untrusted / pydantic = {ratio:.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
