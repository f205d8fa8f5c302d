"""Pushing messages to WebSocket clients through the API Gateway Management API.

:func:`post` sends one JSON message to one connection (``PostToConnection``) and
returns ``False`` when the connection is gone (HTTP 410, ``GoneException``).
:func:`broadcast` sends to every connection of one tenant, read from the control
plane by tenant (a query of that tenant's partition), and removes exactly the
connections that turned out to be gone. :class:`Coalescer` groups a stream's small
text deltas into fewer, larger messages.

The endpoint is the WebSocket API's ``https://{domainName}/{stage}``, taken from the
event, or ``TENANTKIT_WEBSOCKET_ENDPOINT`` when set (a local stand-in).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tenantkit.errors import ConfigurationError, TenantkitError, Throttled
from tenantkit_runtime.controlplane import ControlPlane
from tenantkit_runtime.events import Incoming
from tenantkit_runtime.responses import to_json_bytes

__all__ = ["BroadcastResult", "Coalescer", "broadcast", "endpoint_for", "forget_clients", "post"]

log = logging.getLogger("tenantkit_runtime.push")

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def endpoint_for(incoming: Incoming, override: str | None = None) -> str:
    """The Management API endpoint for the connection that sent ``incoming``."""
    if override:
        return override.rstrip("/")
    if not incoming.domain_name or not incoming.stage:
        raise ConfigurationError(
            "the event names no WebSocket domain and stage; set TENANTKIT_WEBSOCKET_ENDPOINT"
        )
    return f"https://{incoming.domain_name}/{incoming.stage}"


_SERVICE = "apigatewaymanagementapi"
#: PostToConnection's documented errors beyond the common ones
#: (https://docs.aws.amazon.com/apigateway/latest/api/API_PostToConnection.html):
#: its LimitExceededException is the per-second rate limit (HTTP 429), not a quota.
_CODES: dict[str, type[TenantkitError]] = {"LimitExceededException": Throttled}


def _client(endpoint: str) -> Any:
    client = _clients.get(endpoint)
    if client is None:
        with _clients_lock:
            client = _clients.get(endpoint)
            if client is None:
                from tenantkit.aws import ProviderAWS, make_client

                # The function's own credentials: the session every such client shares.
                client = ProviderAWS(
                    _SERVICE,
                    make_client(
                        _SERVICE,
                        region=None,
                        endpoint_url=endpoint,
                        connect_timeout=2,
                        read_timeout=5,
                    ),
                    codes=_CODES,
                )
                _clients[endpoint] = client
    return client


def forget_clients() -> None:
    """Drop the Management API clients (and their connections): the next post makes new ones."""
    with _clients_lock:
        _clients.clear()


def post(endpoint: str, connection_id: str, payload: Any) -> bool:
    """Send ``payload`` as JSON to one connection. ``False`` if the connection is gone."""
    data = payload if isinstance(payload, bytes) else to_json_bytes(payload)
    try:
        _client(endpoint).call("post_to_connection", ConnectionId=connection_id, Data=data)
    except TenantkitError as exc:
        if exc.code == "GoneException" or exc.status == 410:
            return False
        raise
    return True


@dataclass
class BroadcastResult:
    """What a broadcast did: connections reached, removed as gone, and failed."""

    sent: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def broadcast(
    tenant_id: str,
    payload: Any,
    *,
    control_plane: ControlPlane,
    endpoint: str | None = None,
    exclude: Iterable[str] = (),
) -> BroadcastResult:
    """Send ``payload`` to every connection of the tenant; forget those that are gone.

    ``endpoint`` overrides the endpoint recorded with each connection.
    """
    data = to_json_bytes(payload)
    skip = set(exclude)
    result = BroadcastResult()
    for connection in list(control_plane.connections(tenant_id)):
        cid = connection.connection_id
        if cid in skip:
            continue
        target = endpoint or connection.endpoint
        if target is None:
            result.failed.append(cid)
            continue
        try:
            delivered = post(target, cid, data)
        except TenantkitError as exc:
            log.warning("broadcast to a connection failed: %s", exc.kind)
            result.failed.append(cid)
            continue
        if delivered:
            result.sent.append(cid)
        else:
            control_plane.remove_connection(tenant_id, cid)
            result.gone.append(cid)
    return result


class Coalescer:
    """Buffers text and hands it on in chunks: when ``interval`` seconds have passed
    since the last chunk, or when ``max_chars`` characters are waiting.

    Call :meth:`flush` at the end to send what is left.
    """

    def __init__(
        self,
        send: Callable[[str], None],
        *,
        interval: float = 0.05,
        max_chars: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._max_chars = max_chars
        self._clock = clock
        self._parts: list[str] = []
        self._size = 0
        self._last = clock()
        self.chunks = 0

    def add(self, text: str) -> None:
        if not text:
            return
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._max_chars or self._clock() - self._last >= self._interval:
            self.flush()

    def flush(self) -> None:
        if not self._parts:
            return
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        self._last = self._clock()
        self.chunks += 1
        self._send(text)
