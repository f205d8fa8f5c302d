"""Per-tenant limits through the handlers: requests per minute (32 concurrent clients,
on the sqlite, moto DynamoDB and PostgreSQL control planes), LLM tokens per day,
storage quota, features, plans, settings ownership, the outage policy, and the
usage report with its hostile ranges."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from tenantkit.errors import ProviderUnavailable
from tenantkit.metering import Meter
from tenantkit_runtime import deployment
from tenantkit_runtime.app import App, Request
from tenantkit_runtime.functions import chat, config, files

from .conftest import presigned_storage

ADMIN = {"roles": "admin", "user": "root"}
CLIENTS = 32
#: A fixed moment in the middle of a minute: no window boundary during a test.
NOON = datetime(2026, 12, 4, 12, 0, 30, tzinfo=UTC).timestamp()


def _limits(tenants: Any, tenant_id: str = "acme", **limits: Any) -> None:
    doc = tenants.tenant_document(tenant_id)
    doc["limits"] = {**doc["limits"], **limits}
    tenants.write(tenant_id, doc)
    deployment.reset()


def _freeze(at: float = NOON) -> Meter:
    guard = deployment.usage_guard()
    assert guard is not None
    guard.meter.clock = lambda: at
    return guard.meter


# --- requests per minute, 32 concurrent clients ---------------------------------------------


@pytest.fixture(params=["sqlite", "dynamodb", "postgres"])
def control_plane(request: pytest.FixtureRequest, tenants, monkeypatch) -> Iterator[str]:
    """The deployment's control plane on each backend the limiter must be exact on."""
    if request.param == "dynamodb":
        moto = request.getfixturevalue("moto_server")
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, "testing")
        section = {
            "provider": "dynamodb",
            "table": f"control-{secrets.token_hex(4)}",
            "region": moto.region,
            "endpoint_url": moto.endpoint_url,
        }
    elif request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        dsn = server.create_database(f"cp_{secrets.token_hex(4)}")
        section = {"provider": "postgres", "dsn": dsn}
    else:
        section = {"provider": "sqlite", "path": str(tenants.root / "control-plane.db")}
    monkeypatch.setenv("TENANTKIT_CONTROL_PLANE", json.dumps(section))
    deployment.reset()
    deployment.control_plane().ensure_schema()
    yield request.param
    deployment.reset()


def _burst(events: Any, count: int) -> list[dict[str, Any]]:
    def one(i: int) -> dict[str, Any]:
        return config.handler(events.http("GET", "/config/branding", user=f"u{i % CLIENTS}"), None)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(count)))


def test_32_concurrent_clients_never_over_admit(control_plane, tenants, events, body) -> None:
    limit = 40
    _limits(tenants, requests_per_minute=limit)
    deployment.control_plane().ensure_schema()
    _freeze(NOON)
    answers = _burst(events, 3 * CLIENTS)  # demand 96 > 40 in one window
    admitted = [a for a in answers if a["statusCode"] == 200]
    refused = [a for a in answers if a["statusCode"] == 429]
    assert len(admitted) == limit, control_plane
    assert len(refused) == 3 * CLIENTS - limit
    for answer in refused:
        assert answer["headers"]["retry-after"] == "30"
        assert body(answer)["error"]["code"] == "rate_limited"
    # the next window, demand under the limit: everything is admitted
    _freeze(NOON + 60)
    again = _burst(events, CLIENTS)
    assert [a["statusCode"] for a in again] == [200] * CLIENTS
    # the meter saw every request, and the refusals
    day = deployment.usage_guard().meter.report(
        "acme", *([datetime.fromtimestamp(NOON, UTC).date()] * 2)
    )  # type: ignore[union-attr]
    assert day.totals.requests == 4 * CLIENTS
    assert day.totals.refused == 3 * CLIENTS - limit
    assert day.totals.functions["config"].by_status == {
        "2xx": limit + CLIENTS,
        "4xx": 3 * CLIENTS - limit,
    }
    # one audit entry for the refusal burst, with who and from where
    entries, _ = deployment.control_plane().audit_log("acme")
    refusals = [e for e in entries if e.action == "limit.refused"]
    assert len(refusals) == 1
    assert refusals[0].details["limit"] == "requests_per_minute"
    assert refusals[0].source_ip == "192.0.2.1"


def test_one_tenants_limit_leaves_the_others_alone(tenants, events) -> None:
    _limits(tenants, requests_per_minute=2)
    _freeze()
    codes = [
        config.handler(events.http("GET", "/config/branding"), None)["statusCode"] for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    other = config.handler(events.http("GET", "/config/branding", tenant="globex"), None)
    assert other["statusCode"] == 200


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_limiter_outage_fails_as_the_deployment_chooses(
    policy, tenants, events, body, monkeypatch, json_logs
) -> None:
    monkeypatch.setenv("TENANTKIT_LIMITS_ON_OUTAGE", policy)
    _limits(tenants, requests_per_minute=5)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ProviderUnavailable("the control plane is down", provider="sqlite")

    monkeypatch.setattr(Meter, "add", down)
    result = config.handler(events.http("GET", "/config/branding"), None)
    if policy == "open":
        assert result["statusCode"] == 200
    else:
        assert result["statusCode"] == 503
        assert body(result)["error"]["code"] == "tenant_unavailable"
        assert result["headers"]["retry-after"] == "5"
    warnings = [r for r in json_logs.records if r.get("message", "").startswith("limiter")]
    assert warnings
    assert warnings[0]["level"] == "WARNING"


# --- LLM tokens per day ------------------------------------------------------------------------


def _send(events: Any, cid: str, text: str) -> dict[str, Any]:
    return chat.handler(
        events.http("POST", f"/conversations/{cid}/messages", body={"content": text}), None
    )


def test_llm_tokens_per_day_let_the_crossing_reply_finish(tenants, events, body) -> None:
    _limits(tenants, llm_tokens_per_day=10)
    _freeze()
    cid = body(chat.handler(events.http("POST", "/conversations", body={}), None))["id"]
    first = _send(events, cid, "one two three")  # 3 in + 3 out (the echo counts words)
    assert first["statusCode"] == 201
    crossing = _send(events, cid, "four five six seven")  # history too: crosses 10
    assert crossing["statusCode"] == 201  # the reply that crosses the limit finishes
    refused = _send(events, cid, "eight")
    assert refused["statusCode"] == 429
    assert body(refused)["error"]["code"] == "quota_exceeded"
    assert int(refused["headers"]["retry-after"]) == 12 * 3600 - 30
    report = body(config.handler(events.http("GET", "/usage", **ADMIN), None))
    (model,) = report["totals"]["llm"]
    assert model["provider"] == "echo"
    assert model["calls"] == 2
    assert model["input_tokens"] + model["output_tokens"] >= 10
    # the OpenAI-compatible route, streamed or not, is held to the same budget
    compat = chat.handler(
        events.http(
            "POST",
            "/v1/chat/completions",
            body={"model": "default", "messages": [{"role": "user", "content": "hi"}]},
        ),
        None,
    )
    assert compat["statusCode"] == 429


def test_streamed_replies_are_charged(tenants, events, body) -> None:
    _limits(tenants, llm_tokens_per_day=1000)
    _freeze()
    streamed = chat.handler(
        events.http(
            "POST",
            "/v1/chat/completions",
            body={
                "model": "default",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "a b c d"}],
            },
        ),
        None,
    )
    assert streamed["statusCode"] == 200
    chunks = [
        json.loads(line[6:]) for line in streamed["body"].splitlines() if line.startswith("data: {")
    ]
    reported = chunks[-1]["usage"]  # what the provider said, as the client saw it
    report = body(config.handler(events.http("GET", "/usage", **ADMIN), None))
    assert report["totals"]["llm_calls"] == 1
    assert report["totals"]["input_tokens"] == reported["prompt_tokens"] == 4
    assert report["totals"]["output_tokens"] == reported["completion_tokens"] > 0


# --- features ----------------------------------------------------------------------------


def test_image_generation_needs_its_feature(tenants, events, body) -> None:
    request = events.http("POST", "/v1/images/generations", body={"prompt": "a red square"})
    refused = chat.handler(request, None)
    assert refused["statusCode"] == 403
    assert "image_generation" in body(refused)["error"]["message"]
    doc = tenants.tenant_document("acme", features={"image_generation": True})
    tenants.write("acme", doc)
    deployment.reset()
    allowed = chat.handler(
        events.http("POST", "/v1/images/generations", body={"prompt": "a red square"}), None
    )
    assert allowed["statusCode"] == 200, allowed
    assert body(allowed)["data"][0]["b64_json"]


# --- plans and ownership -------------------------------------------------------------------


def test_plans_in_the_defaults_and_the_tenants_own_values(tenants, events, body) -> None:
    (tenants.config_dir / "defaults.json").write_text(
        json.dumps(
            {
                "plans": {
                    "free": {
                        "limits": {"requests_per_minute": 2, "llm_tokens_per_day": 100},
                        "features": {"image_generation": False},
                    },
                    "pro": {
                        "limits": {"requests_per_minute": 600},
                        "features": {"image_generation": True},
                    },
                }
            }
        )
    )
    tenants.add("acme", plan="free")
    doc = tenants.tenant_document("globex", plan="pro")
    doc["limits"]["requests_per_minute"] = 900  # the tenant's own value wins
    tenants.write("globex", doc)
    deployment.reset()
    acme = deployment.resolver().resolve("acme").config
    globex = deployment.resolver().resolve("globex").config
    assert acme.limits.requests_per_minute == 2
    assert acme.limits.llm_tokens_per_day == 100
    assert acme.features == {"image_generation": False, "beta": False}
    assert globex.limits.requests_per_minute == 900
    assert globex.features["image_generation"] is True
    tenants.add("acme", plan="gold")
    deployment.reset()
    broken = config.handler(events.http("GET", "/config", **ADMIN), None)
    assert broken["statusCode"] == 503  # an unknown plan is the operator's mistake


def test_a_tenant_admin_cannot_raise_its_limits_or_features(tenants, events, body) -> None:
    before = tenants.read("acme")
    for patch, paths in [
        ({"limits": {"requests_per_minute": 100000}}, ["limits.requests_per_minute"]),
        ({"limits": {"storage_quota_bytes": None}}, ["limits.storage_quota_bytes"]),
        ({"features": {"image_generation": True}}, ["features.image_generation"]),
        ({"plan": "enterprise"}, ["plan"]),
        ({"branding": {"display_name": "X"}, "limits": {}}, ["limits"]),
    ]:
        result = config.handler(events.http("PATCH", "/config", body=patch, **ADMIN), None)
        assert result["statusCode"] == 403, patch
        assert [d["path"] for d in body(result)["error"]["details"]] == paths
    for kind in ("limits", "features", "plan"):
        result = config.handler(
            events.http("PUT", f"/config/providers/{kind}", body={"x": 1}, **ADMIN), None
        )
        assert result["statusCode"] == 404
    assert tenants.read("acme") == before


# --- storage quota ------------------------------------------------------------------------


@pytest.fixture
def storage_url(tenants) -> Iterator[str]:
    with presigned_storage(tenants, {"max_upload_bytes": 1024, "storage_quota_bytes": 100}) as url:
        deployment.reset()
        yield url


def _offer(events: Any, size: int) -> dict[str, Any]:
    return files.handler(
        events.http(
            "POST",
            "/files",
            body={"name": "a.txt", "content_type": "text/plain", "size": size},
        ),
        None,
    )


def _storage(events: Any, tenant: str) -> Any:
    listed = files.handler(events.http("GET", "/files", tenant=tenant), None)
    assert listed["statusCode"] == 200
    return json.loads(listed["body"])["storage"]


def test_uploads_cannot_pass_the_storage_quota(storage_url, events, body) -> None:
    held = deployment.usage_guard().meter.storage_bytes  # type: ignore[union-attr]
    first = _offer(events, 60)
    assert first["statusCode"] == 201
    assert held("acme") == 60  # reserved at presign time
    over = _offer(events, 41)
    assert over["statusCode"] == 429
    assert body(over)["error"]["code"] == "quota_exceeded"
    assert "retry-after" not in over["headers"]
    assert held("acme") == 60
    # the upload is smaller than declared: the difference comes back at confirmation
    offer = body(first)
    put = httpx.put(offer["upload"]["url"], content=b"x" * 50, headers=offer["upload"]["headers"])
    assert put.status_code in (200, 201, 204)
    fid = offer["file"]["id"]
    confirmed = files.handler(events.http("POST", f"/files/{fid}/confirm"), None)
    assert confirmed["statusCode"] == 200
    assert held("acme") == 50
    # the file list shows the ledger's figure and the quota (the console's "X of Y")
    assert _storage(events, "acme") == {"used_bytes": 50, "quota_bytes": 100}
    assert _storage(events, "globex") == {"used_bytes": 0, "quota_bytes": 100}
    # an upload larger than declared, past the quota: deleted, its bytes given back
    sneaky = body(_offer(events, 10))
    put = httpx.put(sneaky["upload"]["url"], content=b"y" * 70, headers=sneaky["upload"]["headers"])
    assert put.status_code in (200, 201, 204)
    refused = files.handler(events.http("POST", f"/files/{sneaky['file']['id']}/confirm"), None)
    assert refused["statusCode"] == 429
    assert held("acme") == 50
    gone = files.handler(events.http("GET", f"/files/{sneaky['file']['id']}"), None)
    assert gone["statusCode"] == 404
    # deletes give the bytes back; the other tenant's ledger never moved
    deleted = files.handler(events.http("DELETE", f"/files/{fid}"), None)
    assert deleted["statusCode"] == 204
    assert held("acme") == 0
    assert held("globex") == 0
    assert _storage(events, "acme") == {"used_bytes": 0, "quota_bytes": 100}


# --- storage quota on the application's own writes ---------------------------------------

blobs = App("blobs")


class Blob(BaseModel):
    size: int
    how: str = "bytes"


@blobs.put("/blobs/{name}", body=Blob)
def put_blob(request: Request[Blob]) -> dict[str, Any]:
    data = b"z" * request.body.size
    body: Any = {
        "bytes": data,
        "file": io.BytesIO(data),
        "chunks": (data[i : i + 7] for i in range(0, len(data), 7)),
    }[request.body.how]
    return {"size": request.storage.put(request.path_params["name"], body).size}


@blobs.get("/blobs/{name}")
def head_blob(request: Request[None]) -> dict[str, Any]:
    return {"size": request.storage.head(request.path_params["name"]).size}


@blobs.post("/blobs/{name}/copy/{to}")
def copy_blob(request: Request[None]) -> dict[str, Any]:
    info = request.storage.copy(request.path_params["name"], request.path_params["to"])
    return {"size": info.size}


@blobs.delete("/blobs/{name}")
def delete_blob(request: Request[None]) -> None:
    request.storage.delete(request.path_params["name"])


def _blob(events: Any, method: str, path: str, tenant: str = "acme", **body: Any) -> int:
    event = events.http(method, path, body=body or None, tenant=tenant)
    status: int = blobs(event, None)["statusCode"]
    return status


def test_direct_writes_are_held_to_the_storage_quota(tenants, events, body) -> None:
    _limits(tenants, storage_quota_bytes=100)
    held = deployment.usage_guard().meter.storage_bytes  # type: ignore[union-attr]
    assert _blob(events, "PUT", "/blobs/a", size=60) == 200
    assert held("acme") == 60  # bytes: their size reserved before the write
    assert _blob(events, "PUT", "/blobs/b", size=41) == 429
    assert _blob(events, "GET", "/blobs/b") == 404  # refused before anything was stored
    assert held("acme") == 60
    # an overwrite charges the difference only
    assert _blob(events, "PUT", "/blobs/a", size=90) == 200
    assert held("acme") == 90
    # a stream is charged as it is read and stopped past the quota, for chunks and files
    for how in ("chunks", "file"):
        assert _blob(events, "PUT", "/blobs/c", size=30, how=how) == 429, how
        assert _blob(events, "GET", "/blobs/c") == 404
        assert held("acme") == 90
    assert _blob(events, "PUT", "/blobs/c", size=10, how="chunks") == 200
    assert held("acme") == 100
    # a streamed overwrite that shrinks the object gives the difference back
    assert _blob(events, "PUT", "/blobs/a", size=20, how="file") == 200
    assert held("acme") == 30
    # a copy adds the copy's bytes, less what the destination held
    assert _blob(events, "POST", "/blobs/a/copy/d") == 200
    assert held("acme") == 50
    assert _blob(events, "POST", "/blobs/c/copy/d") == 200
    assert held("acme") == 40
    assert _blob(events, "PUT", "/blobs/e", size=60) == 200
    assert _blob(events, "POST", "/blobs/a/copy/f") == 429
    assert _blob(events, "GET", "/blobs/f") == 404
    assert held("acme") == 100
    # deletes give the bytes back; deleting what is not there changes nothing
    assert _blob(events, "DELETE", "/blobs/e") == 200
    assert _blob(events, "DELETE", "/blobs/e") == 200
    assert held("acme") == 40
    # a tenant without a quota is metered all the same (reserved ahead, settled exactly)
    assert _blob(events, "PUT", "/blobs/a", tenant="globex", size=10, how="chunks") == 200
    assert held("globex") == 10
    # every refusal counted and audited as the storage quota's
    entries, _ = deployment.control_plane().audit_log("acme")
    refusals = [e for e in entries if e.action == "limit.refused"]
    assert [e.details["limit"] for e in refusals] == ["storage_quota_bytes"]


@pytest.mark.parametrize("policy", ["open", "closed"])
def test_a_storage_ledger_outage_fails_as_the_deployment_chooses(
    policy, tenants, events, monkeypatch
) -> None:
    monkeypatch.setenv("TENANTKIT_LIMITS_ON_OUTAGE", policy)
    _limits(tenants, storage_quota_bytes=100)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ProviderUnavailable("the control plane is down", provider="sqlite")

    monkeypatch.setattr(Meter, "change_storage", down)
    for how in ("bytes", "chunks"):
        status = _blob(events, "PUT", f"/blobs/{how}", size=30, how=how)
        assert status == (200 if policy == "open" else 503), how
        stored = _blob(events, "GET", f"/blobs/{how}")
        assert stored == (200 if policy == "open" else 404), how
    monkeypatch.undo()
    assert deployment.usage_guard().meter.storage_bytes("acme") == 0  # type: ignore[union-attr]


# --- the usage report ----------------------------------------------------------------------


def test_usage_is_for_the_tenants_admins_only(tenants, events, body) -> None:
    _freeze()
    config.handler(events.http("GET", "/config/branding"), None)
    config.handler(events.http("GET", "/config/branding", tenant="globex"), None)
    member = config.handler(events.http("GET", "/usage"), None)
    assert member["statusCode"] == 403
    query = {"from": "2026-12-01", "to": "2026-12-04"}
    report = body(config.handler(events.http("GET", "/usage", query=query, **ADMIN), None))
    assert report["tenant_id"] == "acme"
    assert [d["day"] for d in report["days"]][-1] == "2026-12-04"
    # its own requests (this report's included), none of globex's
    assert report["days"][-1]["functions"]["config"] == {
        "requests": 3,
        "by_status": {"2xx": 2, "4xx": 1},
    }


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"from": "yesterday"}, "'from' must be a date"),
        ({"to": "2026-02-30"}, "'to' is not a valid date"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "'from' is after 'to'"),
        ({"from": "1900-01-01", "to": "2026-12-01"}, "longer than 366 days"),
        ({"from": "9" * 5000}, "'from' must be a date"),
    ],
)
def test_hostile_ranges_get_a_clear_400(tenants, events, body, query, says) -> None:
    result = config.handler(events.http("GET", "/usage", query=query, **ADMIN), None)
    assert result["statusCode"] == 400
    assert says in body(result)["error"]["message"]


# --- the operator's command ------------------------------------------------------------------


def test_usage_command_reports_and_reconciles(storage_url, events, body, capsys) -> None:
    from tenantkit.cli import main

    deployment.control_plane().register_tenant("acme")
    deployment.control_plane().register_tenant("globex")
    offer = body(_offer(events, 30))
    httpx.put(offer["upload"]["url"], content=b"z" * 30, headers=offer["upload"]["headers"])
    files.handler(events.http("POST", f"/files/{offer['file']['id']}/confirm"), None)
    meter = deployment.usage_guard().meter  # type: ignore[union-attr]
    meter.set_storage("acme", 999)  # a ledger that drifted
    today = datetime.now(UTC).date().isoformat()
    assert main(["usage", "acme", "--reconcile", "--from", today, "--csv"]) == 0
    out, err = capsys.readouterr()
    assert "storage ledger 999 -> 30 bytes" in err
    header, row = out.strip().splitlines()
    assert header.startswith("tenant,day,requests,refused")
    assert row.startswith(f"acme,{today},2,0,")  # the offer and the confirmation
    assert row.endswith(",30")
    assert main(["usage", "--all", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["tenant_id"] for r in reports] == ["acme", "globex"]
    assert reports[0]["totals"]["bytes_uploaded"] == 30
    assert main(["usage", "acme", "--from", "2026-13-01"]) == 2
    assert "--from is not a valid date" in capsys.readouterr().err
