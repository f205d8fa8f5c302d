"""Per-tenant metrics as CloudWatch Embedded Metric Format (EMF) log lines.

A Lambda function's stdout goes to CloudWatch Logs; a line shaped as the EMF
specification says (``_aws.CloudWatchMetrics``: a namespace, dimension sets, metric
definitions; the dimension values and metric values as members of the same JSON
object) becomes CloudWatch metrics with no API call, no agent and no extra service.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

The application object opens one :class:`Invocation` per request (:func:`invocation`)
and every metric recorded inside it (:func:`record`, :func:`llm_call`,
:func:`limit_refused`) is collected in memory and written when the request ends: one
line, or one per conflicting set of dimension values (a second LLM provider, a
second limit), never one per metric. Writing the lines ourselves costs a fraction
of what AWS Lambda Powertools' ``Metrics`` costs per invocation and on import (see
``bench/README.md``, "EMF metrics"), which is why this module exists.

Metrics, units and dimension sets (namespace ``TENANTKIT_METRICS_NAMESPACE``,
``tenantkit`` by default):

=====================  ============  ==========================================
metric                 unit          dimension sets
=====================  ============  ==========================================
``Requests``           Count         (function, tenant), (function)
``Latency``            Milliseconds  (function, tenant), (function)
``ColdStart``          Count         (function, tenant), (function)
``CallerErrors``       Count         (function, tenant), (function)
``ProviderErrors``     Count         (function, tenant), (function)
``ConfigurationErrors``  Count       (function, tenant), (function)
``InternalErrors``     Count         (function, tenant), (function)
``Throttles``          Count         (function, tenant), (function)
``LLMCalls``           Count         (function, tenant, provider), (provider)
``LLMErrors``          Count         (function, tenant, provider), (provider)
``LLMLatency``         Milliseconds  (function, tenant, provider), (provider)
``LLMInputTokens``     Count         (function, tenant, provider), (provider)
``LLMOutputTokens``    Count         (function, tenant, provider), (provider)
``LimitRefused``       Count         (tenant, limit), (limit)
=====================  ============  ==========================================

Dimension values are the function's name, the provider's registered name, a
limit's name and the tenant id the authorizer vouched for (validated by the core's
format), never raw request input: the number of series is bounded by the number of
tenants. Requests without a tenant (refused before authorization) carry only the
function dimension.

Lines are written when ``TENANTKIT_METRICS`` is ``emf``, or on Lambda
(``AWS_LAMBDA_FUNCTION_NAME`` set) unless it is ``off``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Literal

__all__ = [
    "Invocation",
    "Unit",
    "enabled",
    "invocation",
    "limit_refused",
    "llm_call",
    "record",
]

Unit = Literal[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Count",
    "Count/Second",
    "None",
]

#: The EMF limits (the specification): dimensions per set, metrics per directive,
#: values per metric.
MAX_DIMENSIONS = 30
MAX_METRICS = 100
MAX_VALUES = 100
_MAX_DIMENSION_VALUE = 1024

_ERROR_METRICS = {
    "caller": "CallerErrors",
    "provider": "ProviderErrors",
    "configuration": "ConfigurationErrors",
    "internal": "InternalErrors",
}
REQUEST_DIMENSIONS: tuple[tuple[str, ...], ...] = (("function", "tenant"), ("function",))
LLM_DIMENSIONS: tuple[tuple[str, ...], ...] = (("function", "tenant", "provider"), ("provider",))
LIMIT_DIMENSIONS: tuple[tuple[str, ...], ...] = (("tenant", "limit"), ("limit",))


class _Series:
    """Values of the metrics that share one set of dimension values."""

    __slots__ = ("dimension_sets", "dimensions", "metrics")

    def __init__(
        self, dimensions: dict[str, str], dimension_sets: tuple[tuple[str, ...], ...]
    ) -> None:
        self.dimensions = dimensions
        self.dimension_sets = dimension_sets
        self.metrics: dict[str, tuple[Unit, list[float]]] = {}


class Invocation:
    """The metrics of one invocation, written as EMF lines by :meth:`flush`.

    Args:
        function: the function's name (the ``function`` dimension).
        tenant: the caller's tenant id, once known.
        namespace: the CloudWatch namespace.
        write: where lines go (one string per line, newline included).
    """

    def __init__(
        self,
        function: str,
        *,
        tenant: str | None = None,
        namespace: str | None = None,
        write: Callable[[str], object] | None = None,
    ) -> None:
        self.function = _dimension_value("function", function)
        self.tenant = tenant
        self._request_dimensions = {"function": self.function}
        self._request_sets: tuple[tuple[str, ...], ...] = (("function",),)
        if tenant is not None:
            self._request_dimensions["tenant"] = _dimension_value("tenant", tenant)
            self._request_sets = REQUEST_DIMENSIONS
        self.namespace = namespace or os.environ.get("TENANTKIT_METRICS_NAMESPACE") or "tenantkit"
        self._write = write
        self._series: dict[
            tuple[tuple[tuple[str, str], ...], tuple[tuple[str, ...], ...]], _Series
        ] = {}

    def add(
        self,
        name: str,
        value: float,
        unit: Unit,
        *,
        dimensions: Mapping[str, str],
        dimension_sets: tuple[tuple[str, ...], ...],
    ) -> None:
        """Collect one value. Every dimension set names only keys of ``dimensions``."""
        if not math.isfinite(value):
            return
        key = (tuple(dimensions.items()), dimension_sets)
        series = self._series.get(key)
        if series is None:
            clean = {k: _dimension_value(k, v) for k, v in dimensions.items()}
            for keys in dimension_sets:
                if len(keys) > MAX_DIMENSIONS or not set(keys) <= clean.keys():
                    raise ValueError(f"dimension set {keys} does not fit {sorted(clean)}")
            series = self._series[key] = _Series(clean, dimension_sets)
        known = series.metrics.get(name)
        if known is None:
            if len(series.metrics) >= MAX_METRICS:
                self.flush()
                self.add(name, value, unit, dimensions=dimensions, dimension_sets=dimension_sets)
                return
            series.metrics[name] = (unit, [value])
            return
        known[1].append(value)
        if len(known[1]) >= MAX_VALUES:
            self.flush()

    def request(self, name: str, value: float, unit: Unit = "Count") -> None:
        """A metric of the request: dimensions function (and tenant when known)."""
        self.add(
            name,
            value,
            unit,
            dimensions=self._request_dimensions,
            dimension_sets=self._request_sets,
        )

    def finish(
        self, *, status: int, latency_ms: float, cold_start: bool, error_family: str | None
    ) -> None:
        """The request metrics of an answered request (``error_family``: ``caller``,
        ``provider``, ``configuration`` or ``internal``; ``None`` for a success)."""
        self.request("Requests", 1)
        self.request("Latency", latency_ms, "Milliseconds")
        self.request("ColdStart", 1 if cold_start else 0)
        for family, name in _ERROR_METRICS.items():
            self.request(name, 1 if error_family == family else 0)
        self.request("Throttles", 1 if status == 429 else 0)

    def lines(self) -> list[str]:
        """The EMF lines of what was collected: series whose dimension values agree
        share a line."""
        groups: list[tuple[dict[str, str], list[_Series]]] = []
        for series in self._series.values():
            for root, members in groups:
                clash = any(root.get(k, v) != v for k, v in series.dimensions.items())
                taken = any(m in root for m in series.metrics) or any(
                    m in other.metrics for other in members for m in series.metrics
                )
                if not clash and not taken:
                    root.update(series.dimensions)
                    members.append(series)
                    break
            else:
                groups.append((dict(series.dimensions), [series]))
        stamp = int(time.time() * 1000)
        out: list[str] = []
        for root, members in groups:
            directives = []
            document: dict[str, object] = {}
            for series in members:
                directives.append(
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [list(s) for s in series.dimension_sets],
                        "Metrics": [{"Name": n, "Unit": u} for n, (u, _) in series.metrics.items()],
                    }
                )
                for name, (_, values) in series.metrics.items():
                    document[name] = values[0] if len(values) == 1 else values
            document.update(root)
            document["_aws"] = {"Timestamp": stamp, "CloudWatchMetrics": directives}
            out.append(json.dumps(document, separators=(",", ":")))
        return out

    def flush(self) -> None:
        """Write the collected metrics and start afresh."""
        if not self._series:
            return
        lines = self.lines()
        self._series.clear()
        write = self._write or sys.stdout.write
        write("".join(line + "\n" for line in lines))


def _dimension_value(name: str, value: str) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _MAX_DIMENSION_VALUE
        or not value.isprintable()
    ):
        raise ValueError(f"metric dimension {name!r} needs a short printable string")
    return value


_current: ContextVar[Invocation | None] = ContextVar("tenantkit_metrics", default=None)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether EMF lines are written (see the module documentation)."""
    env = os.environ if environ is None else environ
    setting = (env.get("TENANTKIT_METRICS") or "").lower()
    if setting in ("emf", "on"):
        return True
    if setting == "off":
        return False
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))


@contextlib.contextmanager
def invocation(function: str, *, tenant: str | None = None) -> Iterator[Invocation | None]:
    """Collect the metrics of one invocation and write them when it ends (nothing is
    collected, and ``None`` is yielded, when metrics are off)."""
    if not enabled():
        yield None
        return
    current = Invocation(function, tenant=tenant)
    token = _current.set(current)
    try:
        yield current
    finally:
        _current.reset(token)
        current.flush()


def record(name: str, value: float, unit: Unit = "Count") -> None:
    """A metric of the current request (dimensions function and tenant)."""
    current = _current.get()
    if current is not None:
        current.request(name, value, unit)


def llm_call(
    provider: str,
    *,
    latency_ms: float,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    failed: bool = False,
) -> None:
    """One call to the tenant's LLM (a stream counts once, when it ends)."""
    current = _current.get()
    if current is None:
        return
    dimensions = {"function": current.function, "provider": provider}
    sets: tuple[tuple[str, ...], ...] = (("function", "provider"), ("provider",))
    if current.tenant is not None:
        dimensions["tenant"] = current.tenant
        sets = LLM_DIMENSIONS
    values: list[tuple[str, float, Unit]] = [
        ("LLMCalls", 1, "Count"),
        ("LLMErrors", 1 if failed else 0, "Count"),
        ("LLMLatency", latency_ms, "Milliseconds"),
    ]
    if input_tokens is not None:
        values.append(("LLMInputTokens", input_tokens, "Count"))
    if output_tokens is not None:
        values.append(("LLMOutputTokens", output_tokens, "Count"))
    for name, value, unit in values:
        current.add(name, value, unit, dimensions=dimensions, dimension_sets=sets)


def limit_refused(tenant: str, limit: str) -> None:
    """A limit refused one of the tenant's requests (``limit``: the limit's name, such
    as ``requests_per_minute``). The template's quota alarm watches this metric."""
    current = _current.get()
    if current is None:
        return
    current.add(
        "LimitRefused",
        1,
        "Count",
        dimensions={"tenant": tenant, "limit": limit},
        dimension_sets=LIMIT_DIMENSIONS,
    )
