"""Usage reports for the operator (``tenantkit usage``) and the storage reconcile.

:func:`reconcile_storage` sets a tenant's storage ledger to what its storage really
holds: the sizes in the provider's listing, plus the bytes still reserved for uploads
that were offered (``POST /files``) and not yet stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Literal

from tenantkit.metering import DayUsage, UsageReport
from tenantkit_runtime import deployment

__all__ = ["format_reports", "print_reports", "reconcile_storage"]

_COLUMNS = (
    "requests",
    "refused",
    "llm_calls",
    "input_tokens",
    "output_tokens",
    "bytes_uploaded",
    "bytes_downloaded",
    "websocket_minutes",
    "storage_bytes",
)


def reconcile_storage(tenant_id: str) -> tuple[int, int]:
    """Recompute the tenant's storage ledger from its storage listing; (before, after)."""
    tenant = deployment.resolver().resolve(tenant_id)
    meter = deployment.control_plane().meter
    stored: dict[str, int] = {}
    cursor: str | None = None
    while True:
        listing = tenant.storage.list("", cursor=cursor, limit=1000)
        for obj in listing.objects:
            stored[obj.key] = obj.size
        cursor = listing.cursor
        if cursor is None:
            break
    pending = 0
    cursor = None
    while True:
        page = tenant.db.query("files", "files", limit=1000, cursor=cursor)
        for item in page.items:
            charged = item.get("charged")
            if (
                item.get("status") == "pending"
                and f"library/{item.sk}" not in stored
                and isinstance(charged, int)
            ):
                pending += charged
        cursor = page.cursor
        if cursor is None:
            break
    before = meter.storage_bytes(tenant_id)
    after = sum(stored.values()) + pending
    meter.set_storage(tenant_id, after)
    return before, after


def format_reports(
    reports: Sequence[UsageReport],
    *,
    fmt: Literal["text", "json", "csv"] = "text",
    totals_only: bool = False,
) -> str:
    """The reports as text (one line per day), JSON or CSV."""
    if fmt == "json":
        return json.dumps([r.model_dump(mode="json") for r in reports], indent=2)
    rows: list[tuple[str, str, DayUsage]] = []
    for report in reports:
        if totals_only:
            rows.append((report.tenant_id, f"{report.start}..{report.end}", report.totals))
        else:
            rows.extend((report.tenant_id, str(d.day), d) for d in report.days)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("tenant", "day", *_COLUMNS))
        for tenant, day, usage in rows:
            writer.writerow((tenant, day, *(_value(usage, c) for c in _COLUMNS)))
        return out.getvalue().rstrip("\n")
    lines = []
    for tenant, day, usage in rows:
        functions = ", ".join(
            f"{name} {u.requests} ({' '.join(f'{k}:{v}' for k, v in u.by_status.items())})"
            for name, u in usage.functions.items()
        )
        lines.append(
            f"{tenant} {day}: {usage.requests} requests, {usage.refused} refused"
            f"{' [' + functions + ']' if functions else ''}; "
            f"LLM {usage.llm_calls} calls, {usage.input_tokens} in / {usage.output_tokens} out "
            f"tokens; up {usage.bytes_uploaded} B, down {usage.bytes_downloaded} B; "
            f"WebSocket {usage.websocket_minutes} min"
        )
    for report in reports:
        lines.append(f"{report.tenant_id}: storage held now {report.storage_bytes} bytes")
    return "\n".join(lines)


def print_reports(
    reports: Sequence[UsageReport],
    *,
    fmt: Literal["text", "json", "csv"] = "text",
    totals_only: bool = False,
) -> None:
    print(format_reports(reports, fmt=fmt, totals_only=totals_only))


def _value(usage: DayUsage, column: str) -> str:
    value = getattr(usage, column)
    return "" if value is None else str(value)
