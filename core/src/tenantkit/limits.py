"""Per-tenant limits, enforced exactly over a database's atomic counters.

Three mechanisms, each one atomic ``update`` (an increment that returns the new
item) against the operator's database, so every Lambda container of a deployment
shares the same state and none is kept in process memory:

**Requests per minute** (:class:`RequestLimiter`): a *fixed window* of one UTC
minute. Each request increments the window's counter and, in the same write, the
request meter (:mod:`tenantkit.metering`); the increment hands every request a
distinct position in its window, and the request is admitted when that position is
at most the limit. So at most ``L`` requests are admitted per window whatever the
concurrency, exactly ``L`` when more arrive, with one round trip and no retry loop.
Precision: exact per calendar minute; as with every fixed window, a burst that
straddles a minute boundary may see up to ``2 L`` admitted within 60 seconds. A
refused request is told to retry when its window ends.

**LLM tokens per day** (:class:`TokenBudget`): before a call, the day's charged
tokens (input + output, per UTC day) are read and the call is refused when they
reach the limit; after it, the provider's usage is charged. A reply that crosses
the limit finishes and is charged in full; the next call is refused.

**Storage quota** (:class:`StorageQuota`): a ledger of bytes held. An upload
reserves its size first (increment, then check the new figure; over the quota the
increment is given back and the upload refused), so concurrent uploads can never
together take the tenant past its quota (they may, for a moment, refuse one that
would have fitted). Deletes give the bytes back; the runtime's reconcile command
sets the ledger from the provider's listing.

Refusals raise the core's errors: :class:`~tenantkit.errors.RateLimited` (requests,
with ``retry_after``) and :class:`~tenantkit.errors.QuotaExceeded` (tokens, with
``retry_after`` until the day ends; storage, without).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tenantkit.errors import QuotaExceeded, RateLimited
from tenantkit.metering import Meter, counter_name

__all__ = ["Admission", "RequestLimiter", "StorageQuota", "TokenBudget"]

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Admission:
    """The limiter's answer for one request."""

    admitted: bool
    position: int
    """This request's position in its window (1 for the first)."""
    limit: int | None
    retry_after: float
    """Seconds until the window ends."""

    @property
    def first_refusal(self) -> bool:
        """The first request refused in its window: the start of a refusal burst."""
        return self.limit is not None and self.position == self.limit + 1


class RequestLimiter:
    """Requests per minute per tenant: fixed one-minute windows, one write per request."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def admit(self, tenant_id: str, function: str, limit: int | None) -> Admission:
        """Count the request (window and request meter, one write) and decide.

        ``limit`` ``None`` only meters the request.
        """
        now = self._meter.clock()
        minute = datetime.fromtimestamp(now, UTC).minute
        window = f"m{minute:02d}"
        item = self._meter.add(tenant_id, {window: 1, f"r_{counter_name(function)}": 1}, at=now)
        position = int(item.get(window) or 0)
        retry_after = WINDOW_SECONDS - (now % WINDOW_SECONDS)
        admitted = limit is None or position <= limit
        return Admission(admitted, position, limit, retry_after)

    @staticmethod
    def refusal(admission: Admission) -> RateLimited:
        """The error that answers a refused request (429 with ``Retry-After``)."""
        return RateLimited(
            f"this tenant's limit of {admission.limit} requests per minute is reached",
            retry_after=max(1.0, math.ceil(admission.retry_after)),
        )


class TokenBudget:
    """LLM tokens per UTC day: checked before a call, charged after it."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def check(self, tenant_id: str, limit: int | None) -> int:
        """The tokens used today; raise :class:`QuotaExceeded` when the limit is reached."""
        if limit is None:
            return 0
        now = self._meter.clock()
        today = datetime.fromtimestamp(now, UTC).date()
        used = self._meter.llm_tokens(tenant_id, today)
        if used >= limit:
            midnight = datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)
            raise QuotaExceeded(
                f"this tenant's {limit} LLM tokens for today are used up",
                retry_after=max(1.0, math.ceil(midnight.timestamp() - now)),
            )
        return used

    def charge(
        self, tenant_id: str, *, provider: str, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        """Charge one call's usage (as the provider reported it) to today."""
        self._meter.add_llm(
            tenant_id,
            provider=provider,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        )


class StorageQuota:
    """The storage ledger: reserve before an upload, give back on delete."""

    def __init__(self, meter: Meter) -> None:
        self._meter = meter

    def reserve(self, tenant_id: str, size: int, quota: int | None) -> int:
        """Add ``size`` bytes to the ledger unless that takes it past ``quota``; the figure.

        Raises:
            QuotaExceeded: the bytes would not fit; the ledger is left as it was.
        """
        if size <= 0:
            return self.release(tenant_id, -size) if size < 0 else self.held(tenant_id)
        held = self._meter.change_storage(tenant_id, size)
        if quota is not None and held > quota:
            self._meter.change_storage(tenant_id, -size)
            raise QuotaExceeded(
                f"{size} more bytes would take this tenant past its storage quota of "
                f"{quota} bytes ({held - size} held)"
            )
        self._meter.add(tenant_id, {}, set={"held": held})
        return held

    def release(self, tenant_id: str, size: int) -> int:
        """Give ``size`` bytes back to the ledger; the new figure."""
        if size <= 0:
            return self.held(tenant_id)
        held = self._meter.change_storage(tenant_id, -size)
        self._meter.add(tenant_id, {}, set={"held": held})
        return held

    def held(self, tenant_id: str) -> int:
        """The bytes the tenant holds in the ledger now."""
        return self._meter.storage_bytes(tenant_id)
