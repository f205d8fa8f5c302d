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
storage quota          :class:`MeteredStorage`, what ``request.storage`` is: a
                       ``put`` of bytes reserves their size first; a streamed
                       ``put`` (file object, iterable of chunks) is charged as it
                       is read and stopped past the quota; an overwrite or a copy
                       onto a key charges only the difference (one ``head`` first);
                       a ``delete`` gives the object's size back (one ``head``
                       first). Refused: 429 ``quota_exceeded``, nothing left
                       charged. The files function's presigned uploads keep
                       the ledger themselves (:func:`storage_quota`); a presigned
                       PUT that application code hands out is not charged until
                       ``tenantkit usage reconcile`` sets the ledger from the
                       storage listing
features               :func:`require_feature`: 403 ``forbidden`` naming the
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
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from tenantkit import TenantConfig
from tenantkit.errors import (
    Forbidden,
    NotFound,
    QuotaExceeded,
    RateLimited,
    TenantkitError,
)
from tenantkit.limits import RequestLimiter, StorageQuota, TokenBudget
from tenantkit.llm import (
    ChatRequest,
    ChatResponse,
    ChatStream,
    StartEvent,
    StreamEvent,
    TextDelta,
    UsageEvent,
)
from tenantkit.metering import Meter, counter_name
from tenantkit.storage import DEFAULT_CHUNK_SIZE, Body, ObjectInfo, iter_body
from tenantkit_runtime import deployment, metrics
from tenantkit_runtime._watched import WatchedStream
from tenantkit_runtime.http_errors import TenantUnavailable

__all__ = [
    "Guard",
    "MeteredLLM",
    "MeteredStorage",
    "RequestUsage",
    "guard",
    "require_feature",
    "storage_quota",
]

log = logging.getLogger("tenantkit_runtime.usage")

T = TypeVar("T")
#: A streamed write reserves this much ahead while it fits: 2 ledger writes per 8 MiB.
_RESERVE_AHEAD = 8 * DEFAULT_CHUNK_SIZE
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
        return _MeteredStream(
            stream,
            lambda model, i, o: self._charge(found, model, i, o),
            prompt_tokens=_estimated_prompt_tokens(args, kwargs),
        )

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


def _estimated_prompt_tokens(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """The prompt of a ``stream`` call at 4 characters a token (0 if it is not valid:
    the provider refuses it before anything is used)."""
    try:
        request = (
            args[0]
            if args and isinstance(args[0], ChatRequest)
            else ChatRequest.model_validate(kwargs)
        )
    except ValidationError:
        return 0
    return -(-sum(len(m.text) for m in request.messages) // 4)


class _MeteredStream(WatchedStream):
    """A chat stream charged once, when it ends or is closed early.

    The provider's usage is charged when it arrived; a stream abandoned before its
    usage event (a client gone mid-stream) is charged the input the provider
    reported, else the prompt's estimate, and an estimate of the output so far
    (4 characters a token).
    """

    def __init__(
        self,
        stream: ChatStream,
        charge: Callable[[str | None, int, int], None],
        *,
        prompt_tokens: int = 0,
    ) -> None:
        super().__init__(stream)
        self._prompt_tokens = prompt_tokens
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
        prompt = self._input if self._usage_seen or self._input else self._prompt_tokens
        self._charge(self._model, prompt, max(self._output, output))


class MeteredStorage:
    """The tenant's storage held to its quota: every byte it adds is in the ledger.

    Wraps :class:`~tenantkit.TenantStorage`; every method it does not meter (``get``,
    ``stream``, ``head``, ``list``, presigned URLs) is the inner storage's.
    """

    def __init__(
        self, inner: Any, *, config: Callable[[], TenantConfig], usage: RequestUsage
    ) -> None:
        self._inner = inner
        self._config = config
        self._usage = usage

    def put(
        self,
        key: str,
        body: Body,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``body`` at ``key``, its bytes (less what ``key`` held) charged first."""
        found = guard()
        if found is None or isinstance(body, str):
            return self._put(key, body, content_type, metadata)
        charge = self._charge(found, credit=self._held(key))
        sent: Body
        if isinstance(body, bytes | bytearray | memoryview):
            charge.read(len(body))
            sent = body
        else:
            sent = charge.counting(body)
        try:
            info = self._put(key, sent, content_type, metadata)
        except Exception as exc:
            charge.give_back()
            if charge.refusal is not None and exc is not charge.refusal:
                raise charge.refusal from None
            raise
        charge.settle(info.size)
        self._usage.add("up", info.size)
        return info

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Copy ``source`` to ``destination``, the copy's bytes charged first."""
        found = guard()
        if found is None:
            copied: ObjectInfo = self._inner.copy(source, destination)
            return copied
        size = self._inner.head(source).size
        charge = self._charge(found, credit=self._held(destination))
        charge.read(size)
        try:
            info: ObjectInfo = self._inner.copy(source, destination)
        except Exception:
            charge.give_back()
            raise
        charge.settle(info.size)
        return info

    def delete(self, key: str) -> None:
        """Delete the object at ``key`` and give its bytes back to the ledger.

        Two concurrent deletes of one key both give its size back (the ``head`` and
        the delete are not one step); ``tenantkit usage --reconcile`` corrects that.
        """
        found = guard()
        if found is None:
            self._inner.delete(key)
            return
        held = self._held(key)
        self._inner.delete(key)
        if held:
            found.protect("storage", lambda: found.quota.release(self._usage.tenant_id, held), 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __repr__(self) -> str:
        return repr(self._inner)

    def _put(
        self, key: str, body: Body, content_type: str | None, metadata: Mapping[str, str] | None
    ) -> ObjectInfo:
        info: ObjectInfo = self._inner.put(key, body, content_type=content_type, metadata=metadata)
        return info

    def _held(self, key: str) -> int:
        try:
            return int(self._inner.head(key).size)
        except NotFound:
            return 0

    def _charge(self, found: Guard, *, credit: int) -> _StorageCharge:
        return _StorageCharge(
            found,
            self._usage,
            quota=self._config().limits.storage_quota_bytes,
            credit=credit,
        )


class _StorageCharge:
    """What one write adds to the ledger: the bytes read past ``credit`` (the size of
    the object it replaces), reserved as they are read, settled on the final size."""

    def __init__(self, found: Guard, usage: RequestUsage, *, quota: int | None, credit: int):
        self._found = found
        self._usage = usage
        self._quota = quota
        self._credit = credit
        self._seen = 0
        self._reserved = 0
        self._ahead = True
        self.refusal: QuotaExceeded | None = None

    def read(self, size: int) -> None:
        """``size`` more bytes were read: reserve what the ledger does not hold yet
        (ahead, in steps of :data:`_RESERVE_AHEAD` while they fit, to keep writes few)."""
        self._seen += size
        needed = self._seen - self._credit - self._reserved
        if needed <= 0:
            return
        if self._ahead and needed < _RESERVE_AHEAD:
            try:
                self._reserve(_RESERVE_AHEAD, self._quota)
                return
            except QuotaExceeded:
                self._ahead = False
        try:
            self._reserve(needed, self._quota)
        except QuotaExceeded as exc:
            self.refusal = exc
            self._usage.refused_by("storage_quota_bytes")
            raise

    def counting(self, body: Body) -> Iterator[bytes]:
        for chunk in iter_body(body):
            self.read(len(chunk))
            yield chunk

    def settle(self, size: int) -> None:
        """The object is stored with ``size`` bytes: the ledger gets exactly the difference."""
        delta = size - self._credit - self._reserved
        if delta > 0:
            self._reserve(delta, None)  # stored already: charged whatever the quota
        elif delta < 0:
            self._release(-delta)

    def give_back(self) -> None:
        """The write failed: nothing it reserved stays in the ledger."""
        if self._reserved > 0:
            self._release(self._reserved)

    def _reserve(self, size: int, quota: int | None) -> None:
        tenant_id = self._usage.tenant_id
        held: int | None = self._found.protect(
            "storage", lambda: self._found.quota.reserve(tenant_id, size, quota), None
        )
        if held is not None:  # else the ledger is out of reach and the outage policy said open
            self._reserved += size

    def _release(self, size: int) -> None:
        tenant_id = self._usage.tenant_id
        held: int | None = self._found.protect(
            "storage", lambda: self._found.quota.release(tenant_id, size), None
        )
        if held is not None:
            self._reserved -= size
