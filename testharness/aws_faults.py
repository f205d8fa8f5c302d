"""Injected AWS error responses, for what a local stand-in never answers (throttling,
server errors, rejected credentials).

Fixture:
    aws_faults: ``aws_faults.fail(client, "PutItem", status=400, code="...")`` makes the
        next calls of one operation of one botocore client receive that error response
        instead of going to the server (``times=None``: every call). The handlers are
        removed at the end of the test. ``Fault.calls`` counts the answers given.

The response goes through botocore's own parsing, so the client sees exactly what it
would see from AWS. Bodies follow each protocol's documented error format:
* JSON protocols (DynamoDB): ``{"__type": "...#Code", "message": "..."}``
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
* REST-XML (S3): ``<Error><Code/><Message/><RequestId/></Error>``
  https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
* Query (STS): ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>``
  https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

_REQUEST_ID = "FAULT0000INJECTED"


class _Raw:
    """The ``raw`` object botocore reads a response body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def aws_response(url: str, status: int, body: bytes, headers: dict[str, str]) -> Any:
    """A response for a ``before-send`` handler to return instead of sending the request."""
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    all_headers = HTTPHeaders()
    for name, value in {"x-amzn-requestid": _REQUEST_ID, **headers}.items():
        all_headers[name] = value
    return AWSResponse(url, status, all_headers, _Raw(body))


@dataclass
class Fault:
    """One injected error: ``calls`` counts how often it answered."""

    status: int
    code: str
    message: str
    protocol: str
    times: int | None
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Any, **_: Any) -> Any:
        with self._lock:  # parts of one upload are sent from several threads
            if self.times is not None and self.calls >= self.times:
                return None
            self.calls += 1
        headers = {"x-amz-request-id": _REQUEST_ID, **self.headers}
        if self.protocol == "json":
            headers["content-type"] = "application/x-amz-json-1.0"
            document = {"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}"}
            document.update(message=self.message, **self.extra)
            body = json.dumps(document).encode()
        elif self.protocol == "rest-xml":
            headers["content-type"] = "application/xml"
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f"<Error><Code>{self.code}</Code><Message>{self.message}</Message>"
                f"<RequestId>{_REQUEST_ID}</RequestId></Error>"
            ).encode()
            if request.method == "HEAD":
                body = b""
        else:
            headers["content-type"] = "text/xml"
            body = (
                "<ErrorResponse><Error><Type>Sender</Type>"
                f"<Code>{self.code}</Code><Message>{self.message}</Message></Error>"
                f"<RequestId>{_REQUEST_ID}</RequestId></ErrorResponse>"
            ).encode()
        return aws_response(request.url, self.status, body, headers)


class AwsFaults:
    def __init__(self) -> None:
        self._installed: list[tuple[Any, str, Fault]] = []

    def fail(
        self,
        client: Any,
        operation: str,
        *,
        status: int,
        code: str,
        message: str = "injected",
        times: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer the next ``times`` calls of ``operation`` (all, if None) with an error.

        ``extra`` adds members to a JSON error body (``CancellationReasons``...);
        ``headers`` adds response headers (``Retry-After``...).
        """
        model = client.meta.service_model
        fault = Fault(
            status, code, message, model.protocol, times, dict(extra or {}), dict(headers or {})
        )
        event = f"before-send.{model.service_id.hyphenize()}.{operation}"
        client.meta.events.register_first(event, fault)
        self._installed.append((client, event, fault))
        return fault

    def clear(self) -> None:
        for client, event, fault in self._installed:
            client.meta.events.unregister(event, fault)
        self._installed.clear()


@pytest.fixture
def aws_faults() -> Iterator[AwsFaults]:
    faults = AwsFaults()
    try:
        yield faults
    finally:
        faults.clear()
