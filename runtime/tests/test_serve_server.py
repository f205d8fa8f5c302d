"""The local gateway over real HTTP and WebSocket, in front of recording functions.

The authorizer is the runtime's real one, trusting the local issuer whose keys the
gateway itself publishes; the other functions record their events and answer as
each test needs. Replies to WebSocket clients go through the gateway's Management
API with the runtime's own client (boto3 ``apigatewaymanagementapi``).
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tenantkit_runtime.auth import TokenVerifier
from tenantkit_runtime.functions.auth import authorize
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.local.server import (
    JWKS_PATH,
    WEBSOCKET_PATH,
    Functions,
    Gateway,
    LocalServer,
    StorageMounts,
    bind,
)
from tenantkit_runtime.push import post

Answer = Callable[[dict[str, Any]], Any]


class Recorder:
    """Functions that record their events and answer with what a test sets."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, Answer] = {}
        self._lock = threading.Lock()

    def handler(self, name: str) -> Callable[[dict[str, Any], Any], Any]:
        def handle(event: dict[str, Any], context: Any) -> Any:
            assert context.function_name == name
            assert 0 < context.get_remaining_time_in_millis() <= 29_000
            with self._lock:
                self.events.setdefault(name, []).append(event)
            return self.answers[name](event)

        return handle

    def of(self, name: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events.get(name, []))

    def clear(self) -> None:
        with self._lock:
            self.events.clear()


@pytest.fixture(scope="module")
def module_issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("serve-issuer"))


class Served:
    def __init__(self, server: LocalServer, recorder: Recorder, issuer: LocalIssuer) -> None:
        self.server = server
        self.recorder = recorder
        self.issuer = issuer
        self.url = server.url
        self.management = server.url + WEBSOCKET_PATH
        self.http = httpx.Client(base_url=server.url, timeout=30, trust_env=False)

    def token(self, tenant: str = "acme", user: str = "alice", **claims: Any) -> str:
        return self.issuer.issue(tenant=tenant, user=user, roles=["admin"], extra_claims=claims)

    def ws(self, query: str) -> Any:
        return connect(f"{self.server.websocket_url}{query}", open_timeout=10)

    def connection_ids(self) -> list[str]:
        return [
            e["requestContext"]["connectionId"]
            for e in self.recorder.of("websocket")
            if e["requestContext"]["eventType"] == "CONNECT"
        ]


def _websocket_function(management: str) -> Answer:
    """Echo every message back to its sender through the Management API."""

    def answer(event: dict[str, Any]) -> Any:
        context = event["requestContext"]
        if context["eventType"] == "CONNECT":
            refused = (event.get("queryStringParameters") or {}).get("refuse")
            return {"statusCode": int(refused) if refused else 200}
        if context["eventType"] == "MESSAGE":
            if event.get("body") == "crash":
                raise RuntimeError("the integration failed")
            reply = {"route": context["routeKey"], "body": event.get("body")}
            reply["base64"] = event["isBase64Encoded"]
            assert post(management, context["connectionId"], reply)
        return {"statusCode": 200}

    return answer


@pytest.fixture(scope="module")
def served(
    module_issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    recorder = Recorder()
    sock = bind(0)
    host, port = sock.getsockname()
    url = f"http://{host}:{port}"
    verifier = TokenVerifier(module_issuer.auth_settings(url + JWKS_PATH))
    recorder.answers["auth"] = lambda event: authorize(event, verifier)
    recorder.answers["websocket"] = _websocket_function(url + WEBSOCKET_PATH)
    functions = Functions(
        {name: recorder.handler(name) for name in ("auth", "chat", "files", "websocket")}
    )
    storage = StorageMounts(tmp_path_factory.mktemp("no-config"), url)
    app = Gateway(functions, jwks=module_issuer.jwks, storage=storage)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        # boto3's default session keeps the credentials it first read: start one here.
        patch.setattr(boto3, "DEFAULT_SESSION", None)
        with LocalServer(app, sock).running() as server:
            result = Served(server, recorder, module_issuer)
            yield result
            result.http.close()


@pytest.fixture
def recorder(served: Served) -> Iterator[Recorder]:
    served.recorder.clear()
    yield served.recorder
    served.recorder.answers.pop("chat", None)


# --- the HTTP API -------------------------------------------------------------------------


def test_without_an_authorization_header_the_authorizer_is_not_called(
    served: Served, recorder: Recorder
) -> None:
    answer = served.http.get("/conversations")
    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthorized"}
    assert recorder.of("auth") == []
    assert recorder.of("chat") == []


@pytest.mark.parametrize(
    "token",
    [
        "Bearer not.a.token",
        "Bearer " + "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
    ],
)
def test_a_refused_token_is_403_and_the_function_is_not_called(
    served: Served, recorder: Recorder, token: str
) -> None:
    answer = served.http.get("/conversations", headers={"authorization": token})
    assert answer.status_code == 403
    assert answer.json() == {"message": "Forbidden"}
    assert len(recorder.of("auth")) == 1
    assert recorder.of("chat") == []


def test_an_authorized_request_reaches_its_function_with_the_authorizers_context(
    served: Served, recorder: Recorder
) -> None:
    recorder.answers["chat"] = lambda event: {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-seen": event["routeKey"]},
        "cookies": ["session=1; Path=/", "theme=dark"],
        "body": json.dumps({"body": event["body"], "params": event["pathParameters"]}),
    }
    answer = served.http.post(
        "/conversations/c-1/messages?limit=3",
        headers={"authorization": f"Bearer {served.token()}", "cookie": "a=1"},
        json={"content": "hi"},
    )
    assert answer.status_code == 201
    assert answer.json() == {"body": '{"content":"hi"}', "params": {"proxy": "c-1/messages"}}
    assert answer.headers["x-seen"] == "ANY /conversations/{proxy+}"
    assert answer.headers.get_list("set-cookie") == ["session=1; Path=/", "theme=dark"]
    (event,) = recorder.of("chat")
    assert event["requestContext"]["authorizer"] == {
        "lambda": {"tenant_id": "acme", "user_id": "alice", "roles": "admin"}
    }
    assert event["requestContext"]["requestId"] == answer.headers["apigw-requestid"]
    assert event["queryStringParameters"] == {"limit": "3"}
    assert event["cookies"] == ["a=1"]
    (auth_event,) = recorder.of("auth")
    assert auth_event["type"] == "REQUEST"
    assert auth_event["routeArn"].endswith("/$default/POST/conversations/c-1/messages")
    assert "body" not in auth_event


@pytest.mark.parametrize(
    "answer",
    [
        lambda event: (_ for _ in ()).throw(RuntimeError("boom")),
        lambda event: {"statusCode": "201"},
        lambda event: {"statusCode": 200, "body": {"not": "a string"}},
        lambda event: {1, 2},
    ],
)
def test_a_failing_function_is_a_500(served: Served, recorder: Recorder, answer: Answer) -> None:
    recorder.answers["chat"] = answer
    result = served.http.get(
        "/conversations", headers={"authorization": f"Bearer {served.token()}"}
    )
    assert result.status_code == 500
    assert result.json() == {"message": "Internal Server Error"}


def test_a_crashing_authorizer_is_a_500(served: Served, recorder: Recorder) -> None:
    real = recorder.answers["auth"]
    recorder.answers["auth"] = lambda event: {"isAuthorized": "maybe"}
    try:
        answer = served.http.get("/conversations", headers={"authorization": "Bearer x"})
    finally:
        recorder.answers["auth"] = real
    assert answer.status_code == 500
    assert recorder.of("chat") == []


def test_paths_without_a_route_and_bodies_over_the_quota(
    served: Served, recorder: Recorder
) -> None:
    token = {"authorization": f"Bearer {served.token()}"}
    for method, path in (("GET", "/"), ("GET", "/v1/chat/completions"), ("PUT", "/nowhere")):
        answer = served.http.request(method, path, headers=token)
        assert answer.status_code == 404
        assert answer.json() == {"message": "Not Found"}
    too_big = served.http.post("/files", headers=token, content=b"x" * (10 * 1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert recorder.of("auth") == []


def test_the_issuers_keys_are_published(served: Served) -> None:
    answer = served.http.get(JWKS_PATH)
    assert answer.status_code == 200
    assert answer.json() == served.issuer.jwks()


# --- the WebSocket API --------------------------------------------------------------------


def _status(served: Served, query: str) -> int:
    with pytest.raises(InvalidStatus) as refused:
        served.ws(query)
    return refused.value.response.status_code


def test_connect_needs_the_token_and_an_allowing_authorizer(
    served: Served, recorder: Recorder
) -> None:
    assert _status(served, "") == 401
    assert _status(served, "?token=") == 401
    assert recorder.of("auth") == []
    assert _status(served, "?token=forged") == 401  # the authorizer raised "Unauthorized"
    assert _status(served, f"?token={served.token()}&tenant_id=globex") == 403  # a Deny
    assert _status(served, f"?token={served.token()}&refuse=429") == 429  # $connect said no
    assert len(recorder.of("auth")) == 3
    connects = [
        e for e in recorder.of("websocket") if e["requestContext"]["eventType"] == "CONNECT"
    ]
    assert len(connects) == 1
    assert _status(served, "/../elsewhere") in (403, 404)


def test_messages_are_routed_on_their_action_and_answered_through_the_management_api(
    served: Served, recorder: Recorder
) -> None:
    with served.ws(f"?token={served.token()}") as socket:
        (connection_id,) = served.connection_ids()
        (connect_event,) = list(recorder.of("websocket"))
        assert connect_event["requestContext"]["authorizer"] == {
            "principalId": "alice",
            "tenant_id": "acme",
            "user_id": "alice",
            "roles": "admin",
        }
        assert connect_event["queryStringParameters"]["token"]
        for sent, route in (
            ('{"action": "chat", "content": "hi"}', "chat"),
            ('{"action": "broadcast"}', "broadcast"),
            ('{"action": "dance"}', "$default"),
            ("plain words", "$default"),
        ):
            socket.send(sent)
            reply = json.loads(socket.recv(timeout=10))
            assert reply == {"route": route, "body": sent, "base64": False}
        socket.send(b"\x00\xff")
        reply = json.loads(socket.recv(timeout=10))
        assert reply["base64"] is True
        assert base64.b64decode(reply["body"]) == b"\x00\xff"
        messages = [
            e for e in recorder.of("websocket") if e["requestContext"]["eventType"] == "MESSAGE"
        ]
        assert {e["requestContext"]["connectionId"] for e in messages} == {connection_id}
        assert all(e["requestContext"]["authorizer"]["tenant_id"] == "acme" for e in messages)
    _wait_for(
        lambda: any(
            e["requestContext"]["eventType"] == "DISCONNECT" for e in recorder.of("websocket")
        )
    )
    (gone,) = [
        e for e in recorder.of("websocket") if e["requestContext"]["eventType"] == "DISCONNECT"
    ]
    assert gone["requestContext"]["connectionId"] == connection_id
    assert gone["requestContext"]["disconnectStatusCode"] == 1000
    assert gone["requestContext"]["authorizer"]["tenant_id"] == "acme"


def test_a_failing_integration_tells_the_client(served: Served, recorder: Recorder) -> None:
    with served.ws(f"?token={served.token()}") as socket:
        socket.send("crash")
        error = json.loads(socket.recv(timeout=10))
        (connection_id,) = served.connection_ids()
    assert error["message"] == "Internal server error"
    assert error["connectionId"] == connection_id
    assert error["requestId"]


def test_the_management_api_gets_deletes_and_answers_gone(
    served: Served, recorder: Recorder
) -> None:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=served.management,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    with served.ws(f"?token={served.token()}") as socket:
        (connection_id,) = served.connection_ids()
        described = client.get_connection(ConnectionId=connection_id)
        assert described["Identity"]["SourceIp"] == "127.0.0.1"
        assert described["ConnectedAt"] <= described["LastActiveAt"]
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"pushed": true}')
        assert json.loads(socket.recv(timeout=10)) == {"pushed": True}
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=10)
    assert not post(served.management, connection_id, {"late": True})
    for call in (
        lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"x"),
        lambda: client.get_connection(ConnectionId="bm90LWEtY29ubg=="),
        lambda: client.delete_connection(ConnectionId="bm90LWEtY29ubg=="),
    ):
        with pytest.raises(ClientError) as gone:
            call()
        assert gone.value.response["Error"]["Code"] == "GoneException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    _wait_for(
        lambda: any(
            e["requestContext"]["eventType"] == "DISCONNECT" for e in recorder.of("websocket")
        )
    )


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
