"""Limits and metering on the request path: where the runtime applies :mod:`tenantkit.limits`.

=====================  ===========================================================
request admission      :class:`RequestUsage`, built by the app for every request of a
                       tenant: one write counts the request in its rate window and in
                       the request meter (:class:`~tenantkit.limits.RequestLimiter`);
                       refused: 429 ``rate_limited`` with ``Retry-After``. When the
                       answer is known, one more write only if there is something to
                       add (an answer that is not 2xx, bytes moved, WebSocket time)
LLM tokens per day     :class:`MeteredLLM`, what ``request.llm`` is: checked before
                       a call (429 ``quota_exceeded`` when used up), the provider's
                       usage charged after it, for streams when the stream is closed
                       (finished, or abandoned because the client went away)
storage quota          :func:`storage_quota`, used by the library function
features               :func:`require_feature`: 403 ``permission_denied`` naming the
                       feature the tenant's plan and flags do not include
=====================  ===========================================================

The counters live in the control plane (``TENANTKIT_CONTROL_PLANE``); without one,
nothing is metered and no limit is enforced. When the control plane fails, the
deployment's ``TENANTKIT_LIMITS_ON_OUTAGE`` decides: ``open`` (the default: the
request is served, unmetered, and a warning is logged) or ``closed`` (503
``tenant_unavailable`` with ``Retry-After``, logged).

Every refusal counts in the ``LimitRefused`` metric; the control plane's audit log
records refusal bursts (action ``limit.refused``): one entry per tenant, limit and
minute, with the user and the source address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tenantkit import TenantConfig
from tenantkit.errors import (
    Forbidden,
    QuotaExceeded,
    RateLimited,
    TenantkitError,
)
from tenantkit.limits import RequestLimiter, StorageQuota, TokenBudget
from tenantkit.llm import (
    ChatResponse,
    ChatStream,
    StartEvent,
    StreamEvent,
    TextDelta,
    UsageEvent,
)
from tenantkit.metering import Meter, counter_name
from tenantkit_runtime import deployment, metrics
from tenantkit_runtime._watched import WatchedStream
from tenantkit_runtime.http_errors import TenantUnavailable

__all__ = [
    "Guard",
    "MeteredLLM",
    "RequestUsage",
    "guard",
    "require_feature",
    "storage_quota",
]

log = logging.getLogger("tenantkit_runtime.usage")

T = TypeVar("T")
_OUTAGE_RETRY = 5.0


class Guard:
    """The process's meter and limiters over the control plane."""

    def __init__(self, meter: Meter, *, fail_open: bool = True) -> None:
        self.meter = meter
        self.limiter = RequestLimiter(meter)
        self.budget = TokenBudget(meter)
        self.quota = StorageQuota(meter)
        self.fail_open = fail_open

    def protect(self, what: str, call: Callable[[], T], fallback: T) -> T:
        """Run a limiter call; on a control-plane failure apply the outage policy."""
        try:
            return call()
        except (RateLimited, QuotaExceeded):
            raise
        except TenantkitError as exc:
            log.warning(
                "limiter unavailable (%s): %s; failing %s",
                what,
                exc.kind,
                "open" if self.fail_open else "closed",
                extra={"data": {"limiter": what, "kind": exc.kind, "fail_open": self.fail_open}},
            )
            if self.fail_open:
                return fallback
            raise TenantUnavailable(
                "the limits of this tenant cannot be checked right now",
                retry_after=_OUTAGE_RETRY,
            ) from exc


def guard() -> Guard | None:
    """The deployment's guard, or ``None`` when no control plane is configured.

    A control plane that cannot be set up is an outage (the policy applies).
    """
    try:
        return deployment.usage_guard()
    except TenantkitError as exc:
        fail_open = deployment.settings().limits_fail_open
        log.warning(
            "limiter unavailable: %s; failing %s", exc.kind, "open" if fail_open else "closed"
        )
        if fail_open:
            return None
        raise TenantUnavailable(
            "the limits of this tenant cannot be checked right now", retry_after=_OUTAGE_RETRY
        ) from exc


def require_feature(config: TenantConfig, feature: str) -> None:
    """Refuse (403) unless the tenant's plan or flags include ``feature``."""
    if not config.features.get(feature, False):
        raise Forbidden(
            f"this tenant's plan does not include the feature {feature!r}",
        )


def storage_quota() -> StorageQuota | None:
    found = guard()
    return found.quota if found is not None else None


def _status_class(status: int) -> str:
    return f"{status // 100}xx"


class RequestUsage:
    """One request's admission and its counters, written when the answer is known."""

    def __init__(
        self,
        tenant_id: str,
        function: str,
        *,
        user_id: str,
        source_ip: str | None = None,
        limited: bool = True,
    ) -> None:
        self.tenant_id = tenant_id
        self.function = counter_name(function)
        self.user_id = user_id
        self.source_ip = source_ip
        self.limited = limited
        self.counted = False
        self.refused = False
        self._counters: dict[str, int | float] = {}
        self._set: dict[str, Any] = {}

    def admit(self, config: TenantConfig | None) -> None:
        """Count the request and refuse it (429) when the tenant's window is full."""
        found = guard()
        if found is None:
            return
        limit = config.limits.requests_per_minute if config is not None and self.limited else None
        admission = found.protect(
            "requests",
            lambda: found.limiter.admit(self.tenant_id, self.function, limit),
            None,
        )
        if admission is None:
            return
        self.counted = True
        if admission.admitted:
            return
        self.refused = True
        self.refused_by("requests_per_minute")
        raise found.limiter.refusal(admission)

    def add(self, name: str, amount: int | float) -> None:
        """Add to one of the request's counters (``up``, ``down``, ``ws``...)."""
        if amount:
            self._counters[name] = self._counters.get(name, 0) + amount

    def set(self, name: str, value: Any) -> None:
        self._set[name] = value

    def finish(self, status: int) -> None:
        """Write what this request adds to the meter (nothing for a plain 2xx answer)."""
        counters = dict(self._counters)
        if self.counted and status >= 300:
            name = f"s_{self.function}_{_status_class(status)}"
            counters[name] = counters.get(name, 0) + 1
        if self.refused:
            counters["refused"] = counters.get("refused", 0) + 1
        if not counters and not self._set:
            return
        found = guard()
        if found is None:
            return
        try:
            found.meter.add(self.tenant_id, counters, set=self._set or None)
        except TenantkitError as exc:
            log.warning("usage not recorded: %s", exc.kind, extra={"data": {"kind": exc.kind}})

    def refused_by(self, limit_name: str) -> None:
        """A limit refused this request: the ``LimitRefused`` metric, and the minute's
        refusal burst in the audit log (one entry per tenant, limit and minute, written
        once across containers: :meth:`ControlPlane.audit_limit_refusal`)."""
        metrics.limit_refused(self.tenant_id, limit_name)
        try:
            deployment.control_plane().audit_limit_refusal(
                self.tenant_id, limit_name, actor=self.user_id, source_ip=self.source_ip
            )
        except TenantkitError as exc:
            log.warning("limit refusal not audited: %s", exc.kind)


class MeteredLLM:
    """The tenant's LLM with its daily token budget: checked before, charged after."""

    def __init__(
        self, inner: Any, *, config: Callable[[], TenantConfig], usage: RequestUsage
    ) -> None:
        self._inner = inner
        self._config = config
        self._usage = usage

    def chat(self, *args: Any, **kwargs: Any) -> ChatResponse:
        found = self._check()
        response: ChatResponse = self._inner.chat(*args, **kwargs)
        if found is not None:
            usage = response.usage
            self._charge(found, response.model, usage.input_tokens, usage.output_tokens)
        return response

    def stream(self, *args: Any, **kwargs: Any) -> Any:
        found = self._check()
        stream: ChatStream = self._inner.stream(*args, **kwargs)
        if found is None:
            return stream
        return _MeteredStream(stream, lambda model, i, o: self._charge(found, model, i, o))

    def generate_image(self, *args: Any, **kwargs: Any) -> Any:
        require_feature(self._config(), "image_generation")
        found = self._check()
        response = self._inner.generate_image(*args, **kwargs)
        if found is not None:
            usage = response.usage
            self._charge(found, response.model, usage.input_tokens, usage.output_tokens)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _check(self) -> Guard | None:
        found = guard()
        if found is None:
            return None
        config = self._config()
        limit = config.limits.llm_tokens_per_day
        try:
            found.protect("llm_tokens", lambda: found.budget.check(self._usage.tenant_id, limit), 0)
        except QuotaExceeded:
            self._usage.refused_by("llm_tokens_per_day")
            raise
        return found

    def _charge(
        self, found: Guard, model: str | None, input_tokens: int, output_tokens: int
    ) -> None:
        config = self._config()
        configured = getattr(config.llm.settings, "model", None)
        try:
            found.budget.charge(
                self._usage.tenant_id,
                provider=config.llm.provider,
                model=str(model or configured or "default"),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        except TenantkitError as exc:
            log.error(
                "LLM usage not charged: %s",
                exc.kind,
                extra={"data": {"kind": exc.kind, "input": input_tokens, "output": output_tokens}},
            )


class _MeteredStream(WatchedStream):
    """A chat stream charged once, when it ends or is closed early.

    The provider's usage is charged when it arrived; a stream abandoned before its
    usage event is charged an estimate of the output so far (4 characters a token)
    and the input the provider reported, if any.
    """

    def __init__(self, stream: ChatStream, charge: Callable[[str | None, int, int], None]) -> None:
        super().__init__(stream)
        self._charge = charge
        self._usage_seen = False
        self._input = 0
        self._output = 0
        self._chars = 0
        self._model: str | None = None

    def _seen(self, event: StreamEvent) -> None:
        if isinstance(event, UsageEvent):
            self._usage_seen = True
            self._input = event.usage.input_tokens
            self._output = event.usage.output_tokens
        elif isinstance(event, TextDelta):
            self._chars += len(event.text)
        elif isinstance(event, StartEvent):
            self._model = event.model

    def _over(self, response: ChatResponse | None, error: Exception | None) -> None:
        if response is not None:
            self._model = response.model or self._model
            self._usage_seen = True
            self._input = response.usage.input_tokens
            self._output = response.usage.output_tokens
        output = self._output if self._usage_seen and self._output else -(-self._chars // 4)
        self._charge(self._model, self._input, max(self._output, output))
