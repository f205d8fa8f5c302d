"""tenantkit beside what users would pick instead, against one local OpenAI-compatible server.

Clients of the same server (a threaded HTTP server in this process answering
``POST /v1/chat/completions`` in the documented wire format,
https://platform.openai.com/docs/api-reference/chat):

* ``httpx``: the request written by hand with httpx, the floor;
* ``httpx+pydantic`` and ``httpx+model``: the same, with pydantic imported, and then
  with the request body validated by a two-field pydantic model: the floor of any
  client whose requests are pydantic models, as tenantkit's are;
* ``tenantkit``: the ``openai`` provider (``tenantkit-llm-openai``, core included);
* ``openai``: the official SDK;
* ``litellm``: LiteLLM's ``completion`` (``openai/`` model prefix, ``api_base``).

Each is installed alone into its own venv under ``bench/.venvs/`` (bench-only
dependencies, as ``bench/llm_import_cost.py`` does), compiled to bytecode. Two
figures per client, medians over ``--runs``, clients interleaved:

* first answer: a fresh interpreter imports the client, builds it and gets one
  non-streamed answer; the child's CPU (user + system, interpreter start-up
  included) when it has the text;
* per chunk: in one warm process (one stream consumed untimed first), the CPU per
  chunk of consuming a 2,000-chunk stream (``stream: true`` with the usage chunk),
  text assembled as a caller would.

Run::

    uv run python bench/llm_clients.py [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from llm_import_cost import ENVS, LOCAL_ENVS, ROOT, ensure_env

CHUNKS = 2000

ENVS.update(
    {
        "tenantkit-openai": [str(ROOT / "core"), str(ROOT / "plugins" / "llm-openai")],
        "httpx": ["httpx"],
        "litellm": ["litellm"],
    }
)
LOCAL_ENVS.add("tenantkit-openai")  # built from this checkout: reinstalled on every run

#: Client → (environment, setup building the client, a call returning the answer's
#: text, a call iterating a stream and returning its text).
CLIENTS: dict[str, tuple[str, str, str, str]] = {
    "httpx": (
        "httpx",
        "import httpx\nclient = httpx.Client(base_url=URL, headers={'authorization': 'Bearer k'})",
        "client.post('/chat/completions', json={'model': 'm', 'messages': MESSAGES})"
        ".json()['choices'][0]['message']['content']",
        "stream_httpx()",
    ),
    # The floor of any client whose requests are pydantic models: httpx, plus pydantic
    # imported, plus the request body validated by a one-field-per-key model (same
    # pydantic as tenantkit's, from tenantkit's environment).
    "httpx+pydantic": (
        "tenantkit-openai",
        "import httpx\nfrom pydantic import BaseModel\n"
        "client = httpx.Client(base_url=URL, headers={'authorization': 'Bearer k'})",
        "client.post('/chat/completions', json={'model': 'm', 'messages': MESSAGES})"
        ".json()['choices'][0]['message']['content']",
        "stream_httpx()",
    ),
    "httpx+model": (
        "tenantkit-openai",
        "import httpx\nfrom pydantic import BaseModel\n"
        "class Body(BaseModel):\n    model: str\n    messages: list[dict[str, str]]\n"
        "client = httpx.Client(base_url=URL, headers={'authorization': 'Bearer k'})",
        "client.post('/chat/completions', json=Body(model='m', messages=MESSAGES).model_dump())"
        ".json()['choices'][0]['message']['content']",
        "stream_httpx()",
    ),
    "tenantkit": (
        "tenantkit-openai",
        "from tenantkit import ChatRequest, Message\n"
        "from tenantkit_llm_openai import OpenAILLM, OpenAISettings\n"
        "llm = OpenAILLM(OpenAISettings(base_url=URL, api_key='k', model='m'))\n"
        "REQUEST = ChatRequest(messages=[Message(role='user', content='hi')])",
        "llm.chat(REQUEST).text",
        "''.join(e.text for e in llm.stream(REQUEST) if e.type == 'text')",
    ),
    "openai": (
        "openai",
        "from openai import OpenAI\nclient = OpenAI(base_url=URL, api_key='k', max_retries=0)",
        "client.chat.completions.create(model='m', messages=MESSAGES).choices[0].message.content",
        "''.join(c.choices[0].delta.content or '' for c in client.chat.completions.create("
        "model='m', messages=MESSAGES, stream=True, stream_options={'include_usage': True})"
        " if c.choices)",
    ),
    "litellm": (
        "litellm",
        "import litellm",
        "litellm.completion(model='openai/m', api_base=URL, api_key='k', messages=MESSAGES)"
        ".choices[0].message.content",
        "''.join(c.choices[0].delta.content or '' for c in litellm.completion("
        "model='openai/m', api_base=URL, api_key='k', messages=MESSAGES, stream=True,"
        " stream_options={'include_usage': True}) if c.choices)",
    ),
}

_PRELUDE = """
import json, os, resource, time
URL = os.environ["BENCH_URL"]
MESSAGES = [{"role": "user", "content": "hi"}]

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000

def stream_httpx():
    parts = []
    with client.stream("POST", "/chat/completions", json={"model": "m", "messages": MESSAGES,
            "stream": True, "stream_options": {"include_usage": True}}) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunk = json.loads(line[6:])
                if chunk["choices"]:
                    parts.append(chunk["choices"][0]["delta"].get("content") or "")
    return "".join(parts)
"""

_FIRST = """
SETUP
text = CALL
assert text == "hello there", text
print("CPU", cpu())
"""

_STREAM = """
SETUP
assert len(STREAM) == CHUNKS * 2
start = time.process_time()
text = STREAM
elapsed = time.process_time() - start
assert len(text) == CHUNKS * 2
print("CPU", elapsed / CHUNKS * 1e6)
"""


def _program(template: str, **parts: str) -> str:
    """The prelude, then ``template`` with each part put in place of its NAME."""
    for name, text in parts.items():
        template = template.replace(name.upper(), text)
    return _PRELUDE + template


class _Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        common = {"id": "chatcmpl-bench", "created": 1745680000, "model": "m"}
        if not body.get("stream"):
            data = json.dumps(
                {
                    **common,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "hello there"},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        chunk = {**common, "object": "chat.completion.chunk"}

        def event(choices: list[object], **extra: object) -> bytes:
            return f"data: {json.dumps({**chunk, 'choices': choices, **extra})}\n\n".encode()

        events = [event([{"index": 0, "delta": {"role": "assistant", "content": ""}}])]
        events += [
            event([{"index": 0, "delta": {"content": "ab"}, "finish_reason": None}])
        ] * CHUNKS
        events.append(event([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        events.append(
            event([], usage={"prompt_tokens": 1, "completion_tokens": CHUNKS, "total_tokens": 9})
        )
        events.append(b"data: [DONE]\n\n")
        data = b"".join(events)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _run(python: Path, program: str, url: str) -> float:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith(("OPENAI_", "VIRTUAL_ENV"))
    }
    result = subprocess.run(
        [str(python), "-c", program],
        env={**env, "BENCH_URL": url, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("CPU ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"failed:\n{result.stderr[-3000:]}")
    return float(lines[-1].split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--only", nargs="*", choices=sorted(CLIENTS))
    args = parser.parse_args()
    clients = {k: v for k, v in CLIENTS.items() if not args.only or k in args.only}
    pythons = {name: ensure_env(env) for name, (env, *_) in clients.items()}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v1"
    programs = {
        name: (
            _program(_FIRST, setup=setup, call=call),
            _program(_STREAM, setup=setup, stream=stream, chunks=str(CHUNKS)),
        )
        for name, (_, setup, call, stream) in clients.items()
    }
    print(f"load average before: {os.getloadavg()[0]:.2f}, runs: {args.runs}")
    for name, (first, _) in programs.items():
        _run(pythons[name], first, url)  # untimed: page cache warm
    samples: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in programs}
    for _ in range(args.runs):
        for name, (first, stream) in programs.items():
            samples[name][0].append(_run(pythons[name], first, url))
            samples[name][1].append(_run(pythons[name], stream, url))
    server.shutdown()
    floor = statistics.median(samples["httpx"][0]) if "httpx" in samples else None
    for name, (firsts, chunks) in samples.items():
        first = statistics.median(firsts)
        ratio = f" ({first / floor:.2f}x)" if floor else ""
        print(
            f"  {name:15} first answer cpu {first:7.1f} ms{ratio}   "
            f"per chunk {statistics.median(chunks):7.1f} µs"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
