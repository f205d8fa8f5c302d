"""The garbage collector during a function's initialization and first invocation.

A cold start allocates a few hundred thousand objects that live as long as the
execution environment: the modules of the runtime, the core, pydantic, botocore and
httpx, then on the first request the tenant's validated configuration, its plugins,
their validators and clients. With its default thresholds CPython's collector runs a
young-generation collection every 700 allocations, and traverses the survivors again
in the older generations, finding almost no garbage: about a tenth of a cold start's
CPU (``bench/cold_start.py``).

:func:`suspend` is called when :mod:`tenantkit_runtime.functions` is imported, before
any function module; it turns automatic collection off. :func:`resume` is called when
the first invocation has been answered (each handler calls it, a no-op after the
first) and before a SnapStart snapshot: it moves every object then alive to the
permanent generation (``gc.freeze``), so later collections no longer traverse what
initialization built, and turns collection back on. Reference counting frees memory
as usual in between; only reference cycles wait, and the few that became garbage
during initialization are kept for the environment's life.

``TENANTKIT_COLD_START_GC=default`` leaves the collector as it is.
"""

import gc
import os
import threading

__all__ = ["resume", "suspend", "suspended"]

#: ``TENANTKIT_COLD_START_GC=default`` keeps the collector's own behavior.
ENV = "TENANTKIT_COLD_START_GC"

_suspended = False
_lock = threading.Lock()


def suspend() -> bool:
    """Turn automatic collection off until :func:`resume`; whether this did it (not
    when it is already off, or when ``TENANTKIT_COLD_START_GC=default``)."""
    global _suspended
    if os.environ.get(ENV, "").strip().lower() == "default":
        return False
    with _lock:
        if _suspended or not gc.isenabled():
            return False
        gc.disable()
        _suspended = True
        return True


def resume() -> None:
    """Freeze what is alive and turn collection back on, if :func:`suspend` turned it
    off (cheap otherwise: every handler calls it after each invocation)."""
    global _suspended
    if not _suspended:
        return
    with _lock:
        if not _suspended:
            return
        _suspended = False
        gc.freeze()
        gc.enable()


def suspended() -> bool:
    """Whether collection is off since :func:`suspend`."""
    return _suspended
