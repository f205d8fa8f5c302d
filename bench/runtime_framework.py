"""Cold path of a runtime function, and what Powertools' event handler would add to it.

Each program runs in a fresh interpreter with bytecode, as a deployed package has it
(the environment compiled first with ``compileall``, ``PYTHONDONTWRITEBYTECODE``
dropped from the children's environment, one untimed warm-up run each), the programs
interleaved round by round; figures
are medians of wall time and of CPU time from the program's first line:

* ``runtime``: import the chat function and answer its first requests (create a
  conversation, send a message, the reply stored) for a tenant on sqlite + echo +
  local, through an HTTP API event.
* ``free``: the same requests written directly on sqlite3 and json, no framework.
* ``boto3+httpx``: what a framework-free handler for a tenant on AWS pays before its
  first call: import boto3 and httpx, make a DynamoDB and an S3 client.
* ``pydantic``: importing pydantic alone (the runtime pays it anyway).
* ``+event_handler``: pydantic, then ``import aws_lambda_powertools.event_handler``.
* ``+resolver``: pydantic, then an ``APIGatewayHttpResolver(enable_validation=True)``
  with one pydantic-validated route answering one event.

Run (Powertools is not a dependency of the project, so add it for the run)::

    uv run --with aws-lambda-powertools python bench/runtime_framework.py [ROUNDS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from _bytecode import child_env, compile_environment

EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/conversations",
    "rawQueryString": "",
    "headers": {"content-type": "application/json"},
    "requestContext": {
        "authorizer": {"lambda": {"tenant_id": "acme", "user_id": "alice", "roles": "member"}},
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "http": {
            "method": "POST",
            "path": "/conversations",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "bench",
        },
        "requestId": "bench-1",
        "routeKey": "$default",
        "stage": "$default",
    },
    "body": "{}",
    "isBase64Encoded": False,
}

RUNTIME = f"""
import json
from tenantkit_runtime.functions import chat
event = {EVENT!r}
created = chat.handler(event, None)
cid = json.loads(created["body"])["id"]
event["rawPath"] = event["requestContext"]["http"]["path"] = f"/conversations/{{cid}}/messages"
event["body"] = json.dumps({{"content": "hello there"}})
answer = chat.handler(event, None)
assert answer["statusCode"] == 201, answer
"""

FREE = """
import json, sqlite3, os, time, secrets
db = sqlite3.connect(os.environ["BENCH_FREE_DB"])
db.execute("CREATE TABLE IF NOT EXISTS items (ns TEXT, c TEXT, pk TEXT, sk TEXT, data TEXT, "
           "PRIMARY KEY (ns, c, pk, sk))")
event = json.loads(os.environ["BENCH_EVENT"])
auth = event["requestContext"]["authorizer"]["lambda"]
tenant, user = auth["tenant_id"], auth["user_id"]
cid = f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"
with db:
    db.execute("INSERT INTO items VALUES (?, 'conversations', ?, ?, ?)",
               (tenant, user, cid, json.dumps({"title": None})))
text = json.loads('{"content": "hello there"}')["content"]
rows = db.execute("SELECT data FROM items WHERE ns=? AND c='messages' AND pk=? ORDER BY sk DESC "
                  "LIMIT 40", (tenant, cid)).fetchall()
reply = "echo: " + text
with db:
    for role, content in (("user", text), ("assistant", reply)):
        mid = f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"
        db.execute("INSERT INTO items VALUES (?, 'messages', ?, ?, ?)",
                   (tenant, cid, mid, json.dumps({"role": role, "content": content})))
answer = {"statusCode": 201, "body": json.dumps({"reply": {"content": reply}})}
"""

BOTO = """
import boto3, httpx
boto3.client("dynamodb", region_name="us-east-1")
boto3.client("s3", region_name="us-east-1")
httpx.Client()
"""

PYDANTIC = "import pydantic\n"
EVENT_HANDLER = PYDANTIC + "START()\nimport aws_lambda_powertools.event_handler\n"
RESOLVER = (
    PYDANTIC
    + "START()\n"
    + textwrap.dedent(
        f"""
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
    class Body(pydantic.BaseModel):
        content: str = ""
    app = APIGatewayHttpResolver(enable_validation=True)
    @app.post("/conversations")
    def create(body: Body) -> dict:
        return {{"ok": True}}
    assert app.resolve({EVENT!r}, None)["statusCode"] == 200
    """
    )
)

PROGRAMS = {
    "runtime": RUNTIME,
    "free": FREE,
    "boto3+httpx": BOTO,
    "pydantic": PYDANTIC,
    "+event_handler": EVENT_HANDLER,
    "+resolver": RESOLVER,
}

_WRAP = """
import time
_wall, _cpu = time.perf_counter(), time.process_time()
def START():
    global _wall, _cpu
    _wall, _cpu = time.perf_counter(), time.process_time()
{body}
print(round((time.perf_counter() - _wall) * 1000, 3), round((time.process_time() - _cpu) * 1000, 3))
"""


def _deployment(root: Path) -> dict[str, str]:
    tenants = root / "tenants"
    tenants.mkdir()
    (tenants / "acme.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "tenant_id": "acme",
                "db": {"provider": "sqlite", "path": str(root / "acme.db")},
                "llm": {"provider": "echo"},
                "storage": {
                    "provider": "local",
                    "root": str(root / "files"),
                    "signing_key": "bench-presign-key-0123456789",
                },
            }
        )
    )
    env = child_env()
    env.update(
        TENANTKIT_CONFIG_DIR=str(tenants),
        TENANTKIT_SIGNING_KEY="bench-cursor-signing-key-0123456789",
        TENANTKIT_CONTROL_PLANE=json.dumps({"provider": "sqlite", "path": str(root / "cp.db")}),
        TENANTKIT_LOG_LEVEL="WARNING",
        BENCH_FREE_DB=str(root / "free.db"),
        BENCH_EVENT=json.dumps(EVENT),
    )
    return env


def _run(code: str, env: dict[str, str]) -> tuple[float, float] | None:
    proc = subprocess.run(
        [sys.executable, "-c", _WRAP.format(body=code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        return None
    wall, cpu = proc.stdout.split()[-2:]
    return float(wall), float(cpu)


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = _deployment(Path(tmp))
        compile_environment()
        available = {}
        for name, code in PROGRAMS.items():  # warm-up: page cache, checks it runs
            if _run(code, env) is None:
                print(f"{name}: skipped (does not run here; Powertools installed?)")
            else:
                available[name] = code
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in available}
        for _ in range(rounds):
            for name, code in available.items():
                result = _run(code, env)
                if result is not None:
                    samples[name].append(result)
    medians = {
        name: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
        for name, s in samples.items()
        if s
    }
    print(f"{rounds} fresh interpreters per program, medians (ms)")
    print(f"{'program':18} {'wall':>9} {'cpu':>9}")
    for name, (wall, cpu) in medians.items():
        print(f"{name:18} {wall:9.1f} {cpu:9.1f}")
    if "runtime" in medians and "free" in medians:
        print(f"runtime / free (cpu): {medians['runtime'][1] / medians['free'][1]:.1f}x")
    for extra in ("+event_handler", "+resolver"):
        if extra in medians and "runtime" in medians:
            added = medians[extra][1]
            print(
                f"{extra} adds {added:.1f} ms cpu = {added / medians['runtime'][1]:.0%} of the "
                f"runtime's cold request"
                + (
                    f", {added / medians['boto3+httpx'][1]:.0%} of boto3+httpx"
                    if "boto3+httpx" in medians
                    else ""
                )
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
