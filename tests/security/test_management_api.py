"""The local Management API (``/ws/@connections/{id}``) takes only requests signed
(SigV4) with the deployment's AWS credentials, as AWS takes only IAM-signed ones.

A tenant that learns another tenant's connection id (or guesses one) can neither
read it, nor push to it, nor close it; not with its bearer token, not with made-up
credentials, not by replaying a signature over another body or an old timestamp.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.security._attack import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    Target,
    refused,
    wait_for,
)


def _open_ids(target: Target, before: set[str]) -> set[str]:
    """Connection ids registered in the control plane since ``before``."""
    import sqlite3

    path = target.serve.state_dir / "control-plane.sqlite3"
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT sk FROM tenantkit_items WHERE collection = 'connections'"
        ).fetchall()
    return {str(row[0]) for row in rows} - before


def _signed(
    method: str,
    url: str,
    body: bytes = b"",
    *,
    key: str = ACCESS_KEY_ID,
    secret: str = SECRET_ACCESS_KEY,
    when: datetime | None = None,
) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body)
    signer = SigV4Auth(Credentials(key, secret), "execute-api", REGION)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            signer.add_auth(request)
    return request


@pytest.fixture
def victim(target: Target) -> Any:
    """globex's open WebSocket connection and its id."""
    known = _open_ids(target, set())
    with connect(f"{target.websocket_url}?token={target.token('globex', 'bob')}") as socket_:
        ids = wait_for(lambda: _open_ids(target, known))
        assert len(ids) == 1
        yield socket_, ids.pop()


def _nothing_arrives(socket_: Any) -> None:
    with pytest.raises(TimeoutError):
        socket_.recv(timeout=0.5)


def test_unsigned_requests_are_refused_and_reveal_nothing(target: Target, victim: Any) -> None:
    socket_, connection_id = victim
    url = f"/ws/@connections/{connection_id}"
    for method, body in (("GET", None), ("POST", b'{"forged": true}'), ("DELETE", None)):
        response = target.http.request(method, url, content=body)
        error = refused(target, response, 403, shape="gateway")
        assert error["message"] == "Missing Authentication Token"
        assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    # an unknown id answers the same: no oracle for which connections exist
    unknown = target.http.get("/ws/@connections/bm90LWEtY29ubg==")
    refused(target, unknown, 403, shape="gateway")
    _nothing_arrives(socket_)


def test_a_tenants_bearer_token_is_not_a_deployment_credential(target: Target, victim: Any) -> None:
    socket_, connection_id = victim
    for tenant, user in (("globex", "bob"), ("acme", "alice")):
        response = target.http.post(
            f"/ws/@connections/{connection_id}",
            headers=target.auth(tenant, user),
            content=b'{"forged": true}',
        )
        refused(target, response, 403, shape="gateway")
    _nothing_arrives(socket_)


def test_wrong_credentials_are_refused(target: Target, victim: Any) -> None:
    socket_, connection_id = victim
    for credentials in (
        {"key": "AKIAATTACKER00000000", "secret": SECRET_ACCESS_KEY},
        {"key": ACCESS_KEY_ID, "secret": "guessed-secret"},
        {"key": ACCESS_KEY_ID, "secret": SECRET_ACCESS_KEY, "token": "made-up-session"},
    ):
        client = target.management_client(**credentials)
        for call in (
            lambda c=client: c.post_to_connection(ConnectionId=connection_id, Data=b"x"),
            lambda c=client: c.get_connection(ConnectionId=connection_id),
            lambda c=client: c.delete_connection(ConnectionId=connection_id),
        ):
            with pytest.raises(ClientError) as info:
                call()
            assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
            assert SECRET_ACCESS_KEY not in str(info.value.response)
    _nothing_arrives(socket_)


def test_replayed_or_altered_signatures_are_refused(target: Target, victim: Any) -> None:
    socket_, connection_id = victim
    url = f"{target.url}/ws/@connections/{connection_id}"
    # a signature over one body, sent with another
    signed = _signed("POST", url, b'{"ok": true}')
    response = target.http.post(url, headers=dict(signed.headers), content=b'{"evil": true}')
    refused(target, response, 403, shape="gateway")
    # a signature for another connection, another method
    other = _signed("GET", f"{target.url}/ws/@connections/other")
    refused(target, target.http.get(url, headers=dict(other.headers)), 403, shape="gateway")
    get = _signed("GET", url)
    refused(target, target.http.delete(url, headers=dict(get.headers)), 403, shape="gateway")
    # a signature made 20 minutes ago
    old = _signed("GET", url, when=datetime.now(UTC) - timedelta(minutes=20))
    refused(target, target.http.get(url, headers=dict(old.headers)), 403, shape="gateway")
    # a signature with a flipped character, a truncated header
    fresh = dict(_signed("GET", url).headers)
    flipped = fresh["Authorization"][:-1] + ("0" if fresh["Authorization"][-1] != "0" else "1")
    for authorization in (flipped, fresh["Authorization"].split(", Signature")[0], "AWS4 x"):
        response = target.http.get(url, headers={**fresh, "Authorization": authorization})
        refused(target, response, 403, shape="gateway")
    _nothing_arrives(socket_)


def test_the_deployments_signature_is_accepted(target: Target, victim: Any) -> None:
    socket_, connection_id = victim
    client = target.management_client()
    described = client.get_connection(ConnectionId=connection_id)
    assert described["Identity"]["SourceIp"] == "127.0.0.1"
    client.post_to_connection(ConnectionId=connection_id, Data=b'{"pushed": true}')
    assert json.loads(socket_.recv(timeout=10)) == {"pushed": True}
    client.delete_connection(ConnectionId=connection_id)
    with pytest.raises(ConnectionClosed):
        socket_.recv(timeout=10)
