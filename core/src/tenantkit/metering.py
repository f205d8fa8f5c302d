"""Per-tenant usage counters: what each tenant used, per day, in a database.

The counters live in the operator's database (the runtime's control plane), in the
tenant's own namespace, collection ``usage``, partition ``usage``, written only with
atomic increments (one ``update`` per write, never read-modify-write):

==========================================  ==================================================
sort key                                    fields
==========================================  ==================================================
``h#2026-12-04T17`` (one item per UTC hour)  ``r_{function}`` requests received by function;
                                            ``s_{function}_{4xx|...}`` answers that were not
                                            2xx, by status class; ``refused`` requests refused
                                            by the rate limit; ``up`` / ``down`` bytes
                                            uploaded / downloaded; ``ws`` WebSocket seconds;
                                            ``held`` the storage bytes held after the last
                                            change that hour; ``m{MM}`` the rate limiter's
                                            one-minute windows (:mod:`tenantkit.limits`)
``l#2026-12-04#{provider}#{model}``         ``provider``, ``model``, ``calls``,
                                            ``input_tokens``, ``output_tokens``
``storage``                                 ``bytes``: the storage ledger (bytes held and
                                            reserved for uploads in flight)
==========================================  ==================================================

An hour item stays small (at most 60 window fields plus the counters, about 2 KB),
so a request's admission and its request count are one write, and a day's report is
24 items. :func:`read_usage` turns the items of a date range into a
:class:`UsageReport`; :func:`parse_range` validates a range given as text.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tenantkit.db import Item, SortKey
from tenantkit.errors import InvalidRequest
from tenantkit.scoped import TenantDatabase

__all__ = [
    "COLLECTION",
    "MAX_RANGE_DAYS",
    "DayUsage",
    "FunctionUsage",
    "LLMUsage",
    "Meter",
    "UsageReport",
    "counter_name",
    "parse_range",
]

COLLECTION = "usage"
PARTITION = "usage"
STORAGE_SK = "storage"
#: The longest range a report covers (a bounded amount of work per request).
MAX_RANGE_DAYS = 366

_NAME = re.compile(r"[^A-Za-z0-9]")
_frozen = ConfigDict(frozen=True, defer_build=True)  # reports only: built on first use

Scope = Callable[[str], TenantDatabase]


def counter_name(name: str) -> str:
    """A function name as a field-name fragment (``[A-Za-z0-9]``, at most 40 characters)."""
    return _NAME.sub("", name)[:40] or "unnamed"


def hour_key(at: float) -> str:
    return "h#" + datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H")


class Meter:
    """Writes and reads a tenant's usage counters through ``scope(tenant_id)``.

    Args:
        scope: the database bound to one tenant's namespace (the control plane's).
        clock: seconds since the epoch (tests move it).
    """

    def __init__(self, scope: Scope, *, clock: Callable[[], float] = time.time) -> None:
        self._scope = scope
        self.clock = clock

    def add(
        self,
        tenant_id: str,
        counters: Mapping[str, int | float],
        *,
        set: Mapping[str, Any] | None = None,
        at: float | None = None,
    ) -> Item:
        """Add ``counters`` to the tenant's current hour item in one atomic write; the new item."""
        moment = self.clock() if at is None else at
        return self._scope(tenant_id).update(
            COLLECTION, PARTITION, hour_key(moment), increment=counters, set=set, upsert=True
        )

    def add_llm(
        self,
        tenant_id: str,
        *,
        provider: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        at: float | None = None,
    ) -> None:
        """Count one LLM call and its tokens for the day (one atomic write)."""
        moment = self.clock() if at is None else at
        day = datetime.fromtimestamp(moment, UTC).date().isoformat()
        self._scope(tenant_id).update(
            COLLECTION,
            PARTITION,
            f"l#{day}#{provider}#{model}"[:900],
            set={"provider": provider, "model": model},
            increment={
                "calls": 1,
                "input_tokens": max(0, input_tokens),
                "output_tokens": max(0, output_tokens),
            },
            upsert=True,
        )

    def llm_tokens(self, tenant_id: str, day: date) -> int:
        """Input plus output tokens the tenant used on ``day`` (one query)."""
        total = 0
        for item in self._items(tenant_id, f"l#{day.isoformat()}#"):
            total += _int(item.get("input_tokens")) + _int(item.get("output_tokens"))
        return total

    def change_storage(self, tenant_id: str, delta: int) -> int:
        """Add ``delta`` bytes to the storage ledger (atomically); the new figure."""
        item = self._scope(tenant_id).update(
            COLLECTION, PARTITION, STORAGE_SK, increment={"bytes": delta}, upsert=True
        )
        return _int(item.get("bytes"))

    def set_storage(self, tenant_id: str, total: int) -> None:
        """Set the storage ledger to ``total`` (the reconcile command's figure)."""
        self._scope(tenant_id).update(
            COLLECTION, PARTITION, STORAGE_SK, set={"bytes": total}, upsert=True
        )
        self.add(tenant_id, {}, set={"held": total})

    def storage_bytes(self, tenant_id: str) -> int:
        item = self._scope(tenant_id).get(COLLECTION, PARTITION, STORAGE_SK, consistent=True)
        return 0 if item is None else _int(item.get("bytes"))

    def report(self, tenant_id: str, start: date, end: date) -> UsageReport:
        """The tenant's usage per day from ``start`` to ``end`` (both included)."""
        days: dict[date, _Day] = {}
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            days[day] = _Day()
        upper = (end + timedelta(days=1)).isoformat()
        for item in self._range(tenant_id, f"h#{start.isoformat()}", f"h#{upper}"):
            day = date.fromisoformat(item.sk[2:12])
            if day in days:
                days[day].hour(item)
        for item in self._range(tenant_id, f"l#{start.isoformat()}", f"l#{upper}"):
            day = date.fromisoformat(item.sk[2:12])
            if day in days:
                days[day].llm(item)
        listed = [d.model(day) for day, d in days.items()]
        return UsageReport(
            tenant_id=tenant_id,
            start=start,
            end=end,
            days=listed,
            totals=_totals(listed),
            storage_bytes=self.storage_bytes(tenant_id),
        )

    def _items(self, tenant_id: str, prefix: str) -> list[Item]:
        return self._collect(tenant_id, SortKey.prefix(prefix))

    def _range(self, tenant_id: str, lower: str, upper: str) -> list[Item]:
        return [i for i in self._collect(tenant_id, SortKey.between(lower, upper)) if i.sk < upper]

    def _collect(self, tenant_id: str, sort: SortKey) -> list[Item]:
        scope = self._scope(tenant_id)
        items: list[Item] = []
        cursor: str | None = None
        while True:
            page = scope.query(COLLECTION, PARTITION, sort=sort, limit=1000, cursor=cursor)
            items.extend(page.items)
            cursor = page.cursor
            if cursor is None:
                return items


# --- the report ---------------------------------------------------------------------------


class FunctionUsage(BaseModel):
    """Requests to one function, and how many answers fell in each status class."""

    model_config = _frozen
    requests: int = 0
    by_status: dict[str, int] = Field(default_factory=dict)


class LLMUsage(BaseModel):
    """LLM calls and tokens of one provider and model."""

    model_config = _frozen
    provider: str
    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


class DayUsage(BaseModel):
    """One tenant's usage on one UTC day (or over a range, for totals)."""

    model_config = _frozen
    day: date | None = None
    requests: int = 0
    refused: int = 0
    functions: dict[str, FunctionUsage] = Field(default_factory=dict)
    llm: list[LLMUsage] = Field(default_factory=list)
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    bytes_uploaded: int = 0
    bytes_downloaded: int = 0
    websocket_minutes: float = 0.0
    storage_bytes: int | None = None
    """Bytes held after the day's last storage change (``None``: no change that day)."""


class UsageReport(BaseModel):
    """A tenant's usage per day over a range, their totals, and the storage held now."""

    model_config = _frozen
    tenant_id: str
    start: date
    end: date
    days: list[DayUsage]
    totals: DayUsage
    storage_bytes: int


class _Day:
    def __init__(self) -> None:
        self.counters: dict[str, float] = {}
        self.held: tuple[str, int] | None = None
        self.models: list[LLMUsage] = []

    def hour(self, item: Item) -> None:
        for name, value in item.data.items():
            if name == "held":
                if self.held is None or item.sk > self.held[0]:
                    self.held = (item.sk, _int(value))
            elif isinstance(value, int | float) and not isinstance(value, bool):
                self.counters[name] = self.counters.get(name, 0) + value

    def llm(self, item: Item) -> None:
        self.models.append(
            LLMUsage(
                provider=str(item.get("provider", "")),
                model=str(item.get("model", "")),
                calls=_int(item.get("calls")),
                input_tokens=_int(item.get("input_tokens")),
                output_tokens=_int(item.get("output_tokens")),
            )
        )

    def model(self, day: date) -> DayUsage:
        functions: dict[str, dict[str, int]] = {}
        for name, value in self.counters.items():
            if name.startswith("r_"):
                functions.setdefault(name[2:], {})["requests"] = int(value)
        for name, value in self.counters.items():
            if name.startswith("s_"):
                function, _, status = name[2:].rpartition("_")
                functions.setdefault(function, {})[status] = int(value)
        by_function: dict[str, FunctionUsage] = {}
        for function, counts in sorted(functions.items()):
            requests = counts.pop("requests", 0)
            by_status = dict(sorted(counts.items()))
            ok = requests - sum(by_status.values())
            if ok > 0:
                by_status = {"2xx": ok, **by_status}
            by_function[function] = FunctionUsage(requests=requests, by_status=by_status)
        return DayUsage(
            day=day,
            requests=sum(f.requests for f in by_function.values()),
            refused=int(self.counters.get("refused", 0)),
            functions=by_function,
            llm=sorted(self.models, key=lambda m: (m.provider, m.model)),
            llm_calls=sum(m.calls for m in self.models),
            input_tokens=sum(m.input_tokens for m in self.models),
            output_tokens=sum(m.output_tokens for m in self.models),
            bytes_uploaded=int(self.counters.get("up", 0)),
            bytes_downloaded=int(self.counters.get("down", 0)),
            websocket_minutes=round(self.counters.get("ws", 0) / 60, 2),
            storage_bytes=self.held[1] if self.held is not None else None,
        )


def _totals(days: list[DayUsage]) -> DayUsage:
    functions: dict[str, dict[str, int]] = {}
    models: dict[tuple[str, str], list[int]] = {}
    for day in days:
        for name, usage in day.functions.items():
            counts = functions.setdefault(name, {"requests": 0})
            counts["requests"] += usage.requests
            for status, n in usage.by_status.items():
                counts[status] = counts.get(status, 0) + n
        for m in day.llm:
            sums = models.setdefault((m.provider, m.model), [0, 0, 0])
            sums[0] += m.calls
            sums[1] += m.input_tokens
            sums[2] += m.output_tokens
    held = [d.storage_bytes for d in days if d.storage_bytes is not None]
    return DayUsage(
        requests=sum(d.requests for d in days),
        refused=sum(d.refused for d in days),
        functions={
            name: FunctionUsage(
                requests=counts.pop("requests"), by_status=dict(sorted(counts.items()))
            )
            for name, counts in sorted(functions.items())
        },
        llm=[
            LLMUsage(provider=p, model=m, calls=c, input_tokens=i, output_tokens=o)
            for (p, m), (c, i, o) in sorted(models.items())
        ],
        llm_calls=sum(d.llm_calls for d in days),
        input_tokens=sum(d.input_tokens for d in days),
        output_tokens=sum(d.output_tokens for d in days),
        bytes_uploaded=sum(d.bytes_uploaded for d in days),
        bytes_downloaded=sum(d.bytes_downloaded for d in days),
        websocket_minutes=round(sum(d.websocket_minutes for d in days), 2),
        storage_bytes=held[-1] if held else None,
    )


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


# --- ranges -------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_range(
    start: str | None,
    end: str | None,
    *,
    today: date | None = None,
    max_days: int = MAX_RANGE_DAYS,
) -> tuple[date, date]:
    """A report's date range from ``YYYY-MM-DD`` texts (both included).

    ``end`` defaults to today (UTC), ``start`` to the first day of ``end``'s month.

    Raises:
        InvalidRequest: a malformed date (naming the parameter), ``from`` after ``to``,
            or a range longer than ``max_days`` days.
    """
    current = today or datetime.now(UTC).date()
    last = _date("to", end) if end else current
    first = _date("from", start) if start else last.replace(day=1)
    if first > last:
        raise InvalidRequest("'from' is after 'to': give from <= to")
    if (last - first).days + 1 > max_days:
        raise InvalidRequest(f"the range from 'from' to 'to' is longer than {max_days} days")
    return first, last


def _date(name: str, text: str) -> date:
    if len(text) > 10 or not _DATE.fullmatch(text):
        raise InvalidRequest(f"{name!r} must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{name!r} is not a valid date") from None
