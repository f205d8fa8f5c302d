"""Structured JSON logs: one JSON object per line, with the tenant, the user and the
request on every line, and no credential ever.

The request's identity lives in a :mod:`contextvars` context that the application
object sets for each invocation (:func:`bind`), so every logger of the process, the
core's included, logs it without being told. :class:`JsonFormatter` scrubs what it
writes: the values registered with :func:`add_secrets` (the tenant's credentials, the
deployment's signing key) and anything shaped like a JSON Web Token are replaced by
``**********`` in the message, in the extra data and in tracebacks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from tenantkit.redaction import MASK, redact, redactable

__all__ = [
    "JsonFormatter",
    "add_secrets",
    "bind",
    "configure",
    "current",
    "scrub",
    "trace_id",
]

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_TRACE_ROOT = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")


@dataclass(frozen=True)
class LogContext:
    """Who and what the current invocation is about."""

    request_id: str | None = None
    tenant_id: str | None = None
    user_id: str | None = None
    function: str | None = None
    cold_start: bool | None = None
    trace_id: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)


_NOBODY = LogContext()
_context: ContextVar[LogContext] = ContextVar("tenantkit_log_context", default=_NOBODY)
_process_secrets: set[str] = set()
_process_lock = threading.Lock()


def current() -> LogContext:
    return _context.get()


@contextlib.contextmanager
def bind(
    *,
    request_id: str | None = None,
    tenant_id: str | None = None,
    user_id: str | None = None,
    function: str | None = None,
    cold_start: bool | None = None,
    trace_id: str | None = None,
) -> Iterator[LogContext]:
    """Set the request's identity for every log line written inside the block."""
    token = _context.set(
        LogContext(
            request_id=request_id,
            tenant_id=tenant_id,
            user_id=user_id,
            function=function,
            cold_start=cold_start,
            trace_id=trace_id,
        )
    )
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def trace_id(context: Any = None) -> str | None:
    """The X-Ray trace id of the invocation (``Root=1-...`` of the trace header).

    Lambda sets ``_X_AMZN_TRACE_ID`` for each invocation (and newer runtimes hand the
    header to the handler's context as ``xray_trace_id``); the ``Root`` field names the
    trace in X-Ray and CloudWatch.
    """
    header = getattr(context, "xray_trace_id", None) or os.environ.get("_X_AMZN_TRACE_ID")
    if not isinstance(header, str) or not header:
        return None
    for part in header.split(";"):
        name, _, value = part.partition("=")
        if name.strip() == "Root" and _TRACE_ROOT.fullmatch(value.strip()):
            return value.strip()
    return None


def add_secrets(values: Iterable[str], *, process: bool = False) -> None:
    """Never log these values: in the current invocation, or with ``process`` for good."""
    clean = redactable(values)
    if not clean:
        return
    if process:
        with _process_lock:
            _process_secrets.update(clean)
        return
    ctx = _context.get()
    _context.set(replace(ctx, secrets=ctx.secrets + clean))


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given and registered secrets, JWTs and bearer tokens masked."""
    text = redact(text, [*secrets, *_process_secrets, *_context.get().secrets])
    text = _JWT.sub(MASK, text)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class JsonFormatter(logging.Formatter):
    """Formats records as one-line JSON objects.

    Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    ``request_id``, ``tenant_id``, ``user_id``, and inside an invocation ``function``,
    ``cold_start`` and ``trace_id`` (X-Ray, when traced); the record's
    ``extra={"data": {...}}`` under ``data``, and ``exception`` (the scrubbed
    traceback) when there is one.
    """

    def format(self, record: logging.LogRecord) -> str:
        ctx = _context.get()
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "request_id": ctx.request_id,
            "tenant_id": ctx.tenant_id,
            "user_id": ctx.user_id,
        }
        if ctx.function is not None:
            entry["function"] = ctx.function
            entry["cold_start"] = ctx.cold_start
            entry["trace_id"] = ctx.trace_id
        data = getattr(record, "data", None)
        if isinstance(data, dict):
            entry["data"] = _scrubbed(data)
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = scrub(record.exc_text)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return scrub(str(value))


_configured = False


def configure(level: str = "INFO") -> None:
    """Log JSON lines: on Lambda through the runtime's own handler, elsewhere to stdout
    when nothing else is set up. Idempotent."""
    global _configured
    if _configured:
        return
    _configured = True
    root = logging.getLogger()
    formatter = JsonFormatter()
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        for handler in root.handlers:
            handler.setFormatter(formatter)
    elif root.handlers:
        return  # someone else (a test runner, a server) owns logging
    else:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
