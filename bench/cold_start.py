"""Cold start: a fresh interpreter until its first chat request is answered.

One request, ``POST /conversations/{id}/messages`` as an HTTP API (payload 2.0) event
with the authorizer's context, answered two ways, each in its own fresh interpreter:

* ``runtime``: ``tenantkit_runtime.functions.chat.handler``: the tenant's secret is
  read, its providers loaded by name, the conversation and its history read, the
  tenant's LLM called, both messages stored, the conversation updated.
* ``direct``: the same request written straight against the service clients with no
  framework: the same secret read, the same reads and writes, the same LLM call.

Tenants:

* ``embedded``: sqlite + echo + local, secret in a directory; ``direct`` uses
  ``sqlite3`` and the standard library.
* ``aws``: dynamodb + claude + s3, secret in Secrets Manager, on a moto server; the
  Anthropic Messages API played by a local HTTP server on 127.0.0.1 (the answer
  shape of https://docs.anthropic.com/en/api/messages); ``direct`` uses boto3 and
  httpx. Run when ``tenantkit-db-dynamodb``, ``tenantkit-llm-claude`` and
  ``tenantkit-store-s3`` are installed.

``eager`` and ``boto3-sm`` are ``runtime`` as it was before two changes (its imports
made lazy; the secrets client sharing the providers' loader of botocore data), the
"before" of the same run; ``gc-default`` is ``runtime`` with the garbage collector left
as CPython sets it (``TENANTKIT_COLD_START_GC=default``), as it was before the
functions turned it off until their first answer (:mod:`tenantkit_runtime.coldgc`).

The children run with bytecode, as a deployed package has it: every directory on
the interpreter's path is compiled first (``compileall``), ``PYTHONDONTWRITEBYTECODE``
is dropped from their environment, and each program runs once untimed. Then each
runs ``--runs`` times, the programs interleaved. Wall time is measured by this process
from spawning the interpreter to reading its answer; CPU time (user + system) by the
child at its answer, interpreter start-up included, which the shared machine's load
distorts less. Medians.

Run::

    uv run python bench/cold_start.py [--runs 15] [--only embedded|aws]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _bytecode import child_env, compile_environment

TENANT, USER = "acme", "alice"

_CHILD = """
import json, os, resource, sys
EVENT = json.loads(os.environ["BENCH_EVENT"])
{body}
answer = handler(EVENT, None)
assert answer["statusCode"] == 201, answer
usage = resource.getrusage(resource.RUSAGE_SELF)
print("ANSWERED", round((usage.ru_utime + usage.ru_stime) * 1000, 3), flush=True)
"""

RUNTIME = """
from tenantkit_runtime.functions.chat import handler
"""

# What the chat function imported before tenacity (tenantkit.retry) and the
# authorizer's verifier, key cache and settings (tenantkit_runtime.auth) were loaded
# on first use: the same program with those imports first.
RUNTIME_EAGER = """
import tenacity
import tenantkit_runtime.auth.jwks, tenantkit_runtime.auth.settings
import tenantkit_runtime.auth.verifier
from tenantkit_runtime.functions.chat import handler
"""

# How the secrets client was made before it shared tenantkit.aws's loader of botocore
# data with the providers' clients: through boto3's default session, which loads that
# data a second time. The same program with the former function put back.
RUNTIME_BOTO3_SECRETS = """
import tenantkit.sources

def _make_client(region, endpoint_url):
    import boto3
    from botocore.config import Config
    return boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint_url,
                        config=Config(connect_timeout=3, read_timeout=5,
                                      retries={"max_attempts": 2, "mode": "standard"}))

tenantkit.sources._make_client = _make_client
from tenantkit_runtime.functions.chat import handler
"""

# The runtime with CPython's collector as it is: no collection suspended during the
# cold start (see tenantkit_runtime.coldgc).
_GC_DEFAULT = {"TENANTKIT_COLD_START_GC": "default"}

DIRECT_EMBEDDED = """
import sqlite3, secrets, time

def handler(event, context):
    who = event["requestContext"]["authorizer"]["lambda"]
    tenant, user = who["tenant_id"], who["user_id"]
    directory = os.environ["BENCH_CONFIG_DIR"]
    with open(os.path.join(directory, "defaults.json")) as f:
        config = json.load(f)
    with open(os.path.join(directory, tenant + ".json")) as f:
        config.update(json.load(f))
    conversation = event["pathParameters"]["proxy"].split("/")[0]
    text = json.loads(event["body"])["content"]
    db = sqlite3.connect(config["db"]["path"])
    row = db.execute(
        "SELECT data FROM items WHERE ns=? AND c='conversations' AND pk=? AND sk=?",
        (tenant, user, conversation),
    ).fetchone()
    if row is None:
        return {"statusCode": 404, "body": "{}"}
    history = db.execute(
        "SELECT data FROM items WHERE ns=? AND c='messages' AND pk=? ORDER BY sk DESC LIMIT 40",
        (tenant, conversation),
    ).fetchall()
    messages = [json.loads(d) for (d,) in history][::-1] + [{"role": "user", "content": text}]
    reply = config["llm"].get("prefix", "echo: ") + messages[-1]["content"]
    stored = []
    with db:
        for role, content in (("user", text), ("assistant", reply)):
            mid = f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"
            data = {"role": role, "content": content, "created_at": time.time()}
            db.execute("INSERT INTO items VALUES (?, 'messages', ?, ?, ?)",
                       (tenant, conversation, mid, json.dumps(data)))
            stored.append({"id": mid, **data})
        data = json.loads(row[0])
        data["message_count"] = data.get("message_count", 0) + 2
        db.execute("UPDATE items SET data=? WHERE ns=? AND c='conversations' AND pk=? AND sk=?",
                   (json.dumps(data), tenant, user, conversation))
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "body": json.dumps({"message": stored[0], "reply": stored[1]})}
"""

DIRECT_AWS = """
import secrets, time
import boto3, httpx

def handler(event, context):
    who = event["requestContext"]["authorizer"]["lambda"]
    tenant, user = who["tenant_id"], who["user_id"]
    secrets_manager = boto3.client("secretsmanager", endpoint_url=os.environ["BENCH_AWS"])
    config = json.loads(
        secrets_manager.get_secret_value(SecretId="bench/defaults")["SecretString"])
    config.update(json.loads(
        secrets_manager.get_secret_value(SecretId=f"bench/tenants/{tenant}")["SecretString"]))
    dynamodb = boto3.client("dynamodb", region_name=config["db"]["region"],
                            endpoint_url=config["db"]["endpoint_url"])
    table = os.environ["BENCH_TABLE"]
    conversation = event["pathParameters"]["proxy"].split("/")[0]
    text = json.loads(event["body"])["content"]
    found = dynamodb.get_item(TableName=table, Key={
        "pk": {"S": f"{tenant}#conversations#{user}"}, "sk": {"S": conversation}})
    if "Item" not in found:
        return {"statusCode": 404, "body": "{}"}
    history = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"{tenant}#messages#{conversation}"}},
        ScanIndexForward=False, Limit=40)["Items"][::-1]
    messages = [{"role": i["role"]["S"], "content": i["content"]["S"]} for i in history]
    messages.append({"role": "user", "content": text})
    llm = config["llm"]
    with httpx.Client(base_url=llm["base_url"], timeout=30) as client:
        answer = client.post("/v1/messages", json={
            "model": llm["model"], "max_tokens": 1024, "messages": messages},
            headers={"x-api-key": llm["api_key"], "anthropic-version": "2023-06-01"})
    answer.raise_for_status()
    reply = "".join(b["text"] for b in answer.json()["content"] if b["type"] == "text")
    stored = []
    for role, content in (("user", text), ("assistant", reply)):
        mid = f"{time.time_ns() // 1000:016x}{secrets.token_hex(4)}"
        dynamodb.put_item(TableName=table, Item={
            "pk": {"S": f"{tenant}#messages#{conversation}"}, "sk": {"S": mid},
            "role": {"S": role}, "content": {"S": content}})
        stored.append({"id": mid, "role": role, "content": content})
    dynamodb.update_item(
        TableName=table,
        Key={"pk": {"S": f"{tenant}#conversations#{user}"}, "sk": {"S": conversation}},
        UpdateExpression="ADD message_count :two",
        ExpressionAttributeValues={":two": {"N": "2"}})
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "body": json.dumps({"message": stored[0], "reply": stored[1]})}
"""


def _event(conversation: str) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event, as API Gateway hands it to the function."""
    from tenantkit_runtime.local.gateway import HTTP_ROUTES, HttpRequest, http_event, match_route

    path = f"/conversations/{conversation}/messages"
    matched = match_route(HTTP_ROUTES, "POST", path)
    assert matched is not None
    request = HttpRequest(
        method="POST",
        raw_path=path,
        path=path,
        raw_query="",
        headers=[("content-type", "application/json"), ("host", "api.example.com")],
        body=b'{"content": "hello there"}',
        source_ip="192.0.2.1",
        request_id="bench",
    )
    context = {"tenant_id": TENANT, "user_id": USER, "roles": "member"}
    return http_event(request, matched[0], matched[1], context)


def _create_conversation() -> str:
    """Start a conversation through the runtime itself (in this process, untimed)."""
    from tenantkit_runtime import deployment
    from tenantkit_runtime.functions.chat import handler

    event = _event("x")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/conversations"
    event["routeKey"] = event["requestContext"]["routeKey"] = "ANY /conversations"
    del event["pathParameters"]
    event["body"] = "{}"
    created = handler(event, None)
    assert created["statusCode"] == 201, created
    deployment.reset()
    return str(json.loads(created["body"])["id"])


# --- the embedded tenant --------------------------------------------------------------------


@contextlib.contextmanager
def embedded(root: Path) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    config = root / "config"
    config.mkdir()
    (config / "defaults.json").write_text(
        json.dumps(
            {
                "schema_version": 1,
                "db": {"provider": "sqlite", "path": str(root / "tenants.sqlite3")},
                "llm": {"provider": "echo", "prefix": "echo: "},
                "storage": {
                    "provider": "local",
                    "root": str(root / "objects"),
                    "signing_key": "bench-presign-key-0123456789",
                },
            }
        )
    )
    (config / f"{TENANT}.json").write_text(json.dumps({"schema_version": 1, "tenant_id": TENANT}))
    env = {
        "TENANTKIT_CONFIG_DIR": str(config),
        "TENANTKIT_SIGNING_KEY": "bench-cursor-signing-key-0123456789",
    }
    os.environ.update(env)
    conversation = _create_conversation()
    # The direct program's own copy of the data, in the same layout of one table.
    import sqlite3

    direct_db = root / "direct.sqlite3"
    (root / "direct-config").mkdir()
    (root / "direct-config" / "defaults.json").write_text(
        json.dumps({"db": {"path": str(direct_db)}, "llm": {"prefix": "echo: "}})
    )
    (root / "direct-config" / f"{TENANT}.json").write_text(json.dumps({"tenant_id": TENANT}))
    with sqlite3.connect(direct_db) as db:
        db.execute(
            "CREATE TABLE items (ns TEXT, c TEXT, pk TEXT, sk TEXT, data TEXT, "
            "PRIMARY KEY (ns, c, pk, sk))"
        )
        db.execute(
            "INSERT INTO items VALUES (?, 'conversations', ?, ?, '{}')",
            (TENANT, USER, conversation),
        )
    event = json.dumps(_event(conversation))
    yield {
        "runtime": (RUNTIME, {**env, "BENCH_EVENT": event}),
        "eager": (RUNTIME_EAGER, {**env, "BENCH_EVENT": event}),
        "gc-default": (RUNTIME, {**env, "BENCH_EVENT": event, **_GC_DEFAULT}),
        "direct": (
            DIRECT_EMBEDDED,
            {"BENCH_CONFIG_DIR": str(root / "direct-config"), "BENCH_EVENT": event},
        ),
    }


# --- the AWS tenant -------------------------------------------------------------------------


class _Claude(BaseHTTPRequestHandler):
    """The Messages API's non-streaming answer (https://docs.anthropic.com/en/api/messages)."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        text = request["messages"][-1]["content"]
        if isinstance(text, list):
            text = "".join(part.get("text", "") for part in text)
        body = json.dumps(
            {
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": request["model"],
                "content": [{"type": "text", "text": f"claude: {text}"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 12, "output_tokens": 6},
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("request-id", "req_bench")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def aws(root: Path) -> Iterator[dict[str, tuple[str, dict[str, str]]]]:
    import boto3
    from moto.server import ThreadedMotoServer

    from testharness._ports import free_port

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    claude = ThreadingHTTPServer(("127.0.0.1", 0), _Claude)
    threading.Thread(target=claude.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(credentials)
    try:
        dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        for table, keys in (("bench-tenants", ("_pk", "_sk")), ("bench-direct", ("pk", "sk"))):
            dynamodb.create_table(
                TableName=table,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
                KeySchema=[
                    {"AttributeName": keys[0], "KeyType": "HASH"},
                    {"AttributeName": keys[1], "KeyType": "RANGE"},
                ],
            )
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="bench-files")
        defaults = {
            "schema_version": 1,
            "db": {
                "provider": "dynamodb",
                "table": "bench-tenants",
                "region": "us-east-1",
                "endpoint_url": endpoint,
            },
            "llm": {
                "provider": "claude",
                "api_key": "sk-ant-bench",
                "model": "claude-sonnet-4-5",
                "base_url": f"http://127.0.0.1:{claude.server_port}",
            },
            "storage": {
                "provider": "s3",
                "bucket": "bench-files",
                "region": "us-east-1",
                "endpoint_url": endpoint,
            },
        }
        manager = boto3.client("secretsmanager", endpoint_url=endpoint)
        manager.create_secret(Name="bench/defaults", SecretString=json.dumps(defaults))
        manager.create_secret(
            Name=f"bench/tenants/{TENANT}",
            SecretString=json.dumps({"schema_version": 1, "tenant_id": TENANT}),
        )
        env = {
            **credentials,
            "TENANTKIT_SECRETS_PREFIX": "bench",
            "TENANTKIT_SECRETS_ENDPOINT_URL": endpoint,
            "TENANTKIT_SIGNING_KEY": "bench-cursor-signing-key-0123456789",
        }
        os.environ.pop("TENANTKIT_CONFIG_DIR", None)
        os.environ.update(env)
        conversation = _create_conversation()
        dynamodb.put_item(
            TableName="bench-direct",
            Item={"pk": {"S": f"{TENANT}#conversations#{USER}"}, "sk": {"S": conversation}},
        )
        event = json.dumps(_event(conversation))
        yield {
            "runtime": (RUNTIME, {**env, "BENCH_EVENT": event}),
            "eager": (RUNTIME_EAGER, {**env, "BENCH_EVENT": event}),
            "gc-default": (RUNTIME, {**env, "BENCH_EVENT": event, **_GC_DEFAULT}),
            "boto3-sm": (RUNTIME_BOTO3_SECRETS, {**env, "BENCH_EVENT": event}),
            "direct": (
                DIRECT_AWS,
                {
                    **credentials,
                    "BENCH_AWS": endpoint,
                    "BENCH_TABLE": "bench-direct",
                    "BENCH_EVENT": event,
                },
            ),
        }
    finally:
        claude.shutdown()
        moto.stop()


# --- running --------------------------------------------------------------------------------


def _run(body: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall ms (spawn to answer) and the child's CPU ms at its answer."""
    code = _CHILD.format(body=textwrap.dedent(body))
    clean = {k: v for k, v in child_env().items() if not k.startswith(("TENANTKIT_", "BENCH_"))}
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    while line and not line.startswith("ANSWERED "):  # the runtime's own log lines
        line = child.stdout.readline()
    wall = (time.perf_counter() - started) * 1000
    _, errors = child.communicate(timeout=60)
    if child.returncode != 0 or not line:
        raise RuntimeError(f"the program failed:\n{errors[-3000:]}")
    return wall, float(line.split()[1])


def measure(programs: dict[str, tuple[str, dict[str, str]]], runs: int) -> dict[str, Any]:
    for body, env in programs.values():  # bytecode written, page cache warm
        _run(body, env)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in programs}
    for _ in range(runs):
        for name, (body, env) in programs.items():
            samples[name].append(_run(body, env))
    return {
        name: {
            "wall_ms": round(statistics.median(w for w, _ in values), 1),
            "cpu_ms": round(statistics.median(c for _, c in values), 1),
        }
        for name, values in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", choices=("embedded", "aws"))
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parents[1]))
    cases = {"embedded": embedded, "aws": aws}
    plugins = ("tenantkit_db_dynamodb", "tenantkit_llm_claude", "tenantkit_store_s3")
    if args.only is None and not all(importlib.util.find_spec(p) for p in plugins):
        print("aws: skipped (dynamodb, claude and s3 plugins not installed)", file=sys.stderr)
        del cases["aws"]
    if args.only:
        cases = {args.only: cases[args.only]}
    compile_environment()
    print(f"load average before: {os.getloadavg()[0]:.2f}, runs: {args.runs}")
    for name, case in cases.items():
        with tempfile.TemporaryDirectory() as tmp, case(Path(tmp)) as programs:
            result = measure(programs, args.runs)
        direct = result["direct"]
        print(f"\n{name}:")
        for program, figures in result.items():
            wall, cpu = figures["wall_ms"], figures["cpu_ms"]
            print(
                f"  {program:10} wall {wall:8.1f} ms ({wall / direct['wall_ms']:.2f}x)"
                f"   cpu {cpu:8.1f} ms ({cpu / direct['cpu_ms']:.2f}x)"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
