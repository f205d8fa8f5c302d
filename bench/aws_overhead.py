"""Overhead of the ``dynamodb`` provider against raw boto3, side by side in one run.

Both sides make the same DynamoDB calls on the same moto server (its own process) and
the same table: put one item, get it, query a 100-item partition, batch-put 100 items.
The provider side goes through what application code uses, ``TenantDatabase`` (input
validation, the retry policy, cursor signing, answer checks) over ``DynamoDBDatabase``;
the raw side is a boto3 client with ``TypeSerializer``/``TypeDeserializer``. Calls
alternate between the sides, and which side goes first alternates each round.

    uv run python bench/aws_overhead.py [--rounds 300]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
from _moto import moto_server
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config

from tenantkit import ProviderContext, RetryPolicy, Schema, TenantDatabase
from tenantkit.cursors import CursorSigner
from tenantkit_db_dynamodb import DynamoDBSettings
from tenantkit_db_dynamodb.database import DynamoDBDatabase

REGION = "us-east-1"
FIELDS: dict[str, Any] = {
    "title": "a note of ordinary length, about sixty characters of text",
    "owner": "user-42",
    "count": 7,
    "score": 0.25,
    "tags": ["alpha", "beta"],
}


class Raw:
    """What an application would write with boto3 alone."""

    def __init__(self, endpoint: str, table: str) -> None:
        self.client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=REGION,
            config=Config(connect_timeout=3, read_timeout=10, retries={"total_max_attempts": 1}),
        )
        self.table = table
        self.ser = TypeSerializer()
        self.de = TypeDeserializer()

    def _item(self, pk: str, sk: str, fields: dict[str, Any]) -> dict[str, Any]:
        values = {"_pk": f"raw#{pk}", "_sk": f"#{sk}", "_v": secrets.token_hex(8)}
        values.update(
            {k: Decimal(repr(v)) if isinstance(v, float) else v for k, v in fields.items()}
        )
        return {k: self.ser.serialize(v) for k, v in values.items()}

    def put(self, pk: str, sk: str) -> None:
        self.client.put_item(TableName=self.table, Item=self._item(pk, sk, FIELDS))

    def get(self, pk: str, sk: str) -> dict[str, Any]:
        key = {"_pk": {"S": f"raw#{pk}"}, "_sk": {"S": f"#{sk}"}}
        item = self.client.get_item(TableName=self.table, Key=key)["Item"]
        return {k: self.de.deserialize(v) for k, v in item.items()}

    def query(self, pk: str) -> list[dict[str, Any]]:
        answer = self.client.query(
            TableName=self.table,
            KeyConditionExpression="#p = :p",
            ExpressionAttributeNames={"#p": "_pk"},
            ExpressionAttributeValues={":p": {"S": f"raw#{pk}"}},
            Limit=100,
        )
        return [{k: self.de.deserialize(v) for k, v in i.items()} for i in answer["Items"]]

    def batch_put(self, pk: str, count: int) -> None:
        requests = [
            {"PutRequest": {"Item": self._item(pk, f"{i:04}", FIELDS)}} for i in range(count)
        ]
        for start in range(0, len(requests), 25):
            pending = requests[start : start + 25]
            while pending:
                answer = self.client.batch_write_item(RequestItems={self.table: pending})
                pending = answer.get("UnprocessedItems", {}).get(self.table, [])


def measure(
    rounds: int, provider: Callable[[int], Any], raw: Callable[[int], Any]
) -> tuple[float, float, float]:
    """Median seconds per call of each side, and the median of the per-round ratios
    (each round times both sides back to back, so the machine's drift cancels)."""
    times: dict[str, list[float]] = {"provider": [], "raw": []}
    warmup = max(5, rounds // 10)
    for i in range(-warmup, rounds):
        order = [("provider", provider), ("raw", raw)]
        if i % 2:
            order.reverse()
        for side, call in order:
            started = time.perf_counter()
            call(i)
            elapsed = time.perf_counter() - started
            if i >= 0:
                times[side].append(elapsed)
    ratios = [p / r for p, r in zip(times["provider"], times["raw"], strict=True)]
    return (
        statistics.median(times["provider"]),
        statistics.median(times["raw"]),
        statistics.median(ratios),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="timed rounds of put and get")
    args = parser.parse_args()
    rounds = args.rounds

    with moto_server() as endpoint:
        table = f"bench-{secrets.token_hex(4)}"
        settings = DynamoDBSettings(table=table, region=REGION, endpoint_url=endpoint)
        context = ProviderContext(tenant_id="bench", provider="dynamodb")
        database = DynamoDBDatabase(settings, context)
        database.ensure_schema(Schema())
        db = TenantDatabase(
            database,
            tenant_id="bench",
            provider="dynamodb",
            capabilities=frozenset(database.capabilities),
            signer=CursorSigner(secrets.token_bytes(32)),
            retry=RetryPolicy(),
        )
        raw = Raw(endpoint, table)

        db.batch_put("notes", [{"pk": "q", "sk": f"{i:04}", **FIELDS} for i in range(100)])
        raw.batch_put("q", 100)
        assert len(db.query("notes", "q", limit=100).items) == len(raw.query("q")) == 100

        results = {
            "put": measure(
                rounds,
                lambda i: db.put("notes", {"pk": "p", "sk": f"{i % 50:04}", **FIELDS}),
                lambda i: raw.put("p", f"{i % 50:04}"),
            ),
            "get": measure(
                rounds,
                lambda i: db.get("notes", "p", f"{i % 50:04}"),
                lambda i: raw.get("p", f"{i % 50:04}"),
            ),
            "query (100 items)": measure(
                max(20, rounds // 4),
                lambda i: db.query("notes", "q", limit=100),
                lambda i: raw.query("q"),
            ),
            "batch put (100 items)": measure(
                max(20, rounds // 6),
                lambda i: db.batch_put(
                    "notes", [{"pk": "b", "sk": f"{j:04}", **FIELDS} for j in range(100)]
                ),
                lambda i: raw.batch_put("b", 100),
            ),
        }
        # The client side alone: the same puts with the botocore call stubbed out.
        database.close()
        stub = _NoNetwork()
        database._aws.client = raw.client = stub
        local = measure(
            2000,
            lambda i: db.put("notes", {"pk": "p", "sk": f"{i % 50:04}", **FIELDS}),
            lambda i: raw.put("p", f"{i % 50:04}"),
        )
        provider_only = _per_call(
            lambda i: database.put("bench", "notes", {"pk": "p", "sk": f"{i:04}", **FIELDS})
        )

    print("| operation | provider median (ms) | raw boto3 median (ms) | median ratio |")
    print("|---|---:|---:|---:|")
    for name, (mine, theirs, ratio) in results.items():
        print(f"| {name} | {mine * 1000:.2f} | {theirs * 1000:.2f} | {ratio:.3f} |")
    print()
    print("Without the network (the botocore call stubbed out), per put:")
    print(f"- TenantDatabase over DynamoDBDatabase: {local[0] * 1e6:.1f} µs")
    print(f"- DynamoDBDatabase alone: {provider_only * 1e6:.1f} µs")
    print(f"- raw boto3 side (TypeSerializer): {local[1] * 1e6:.1f} µs")


class _NoNetwork:
    """Stands in for the botocore client: every call answers at once."""

    def put_item(self, **_: Any) -> dict[str, Any]:
        return {}


def _per_call(call: Callable[[int], Any], calls: int = 2000) -> float:
    times = []
    for i in range(calls):
        started = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
