"""The Lambda functions. Each module exposes ``handler(event, context)``.

Importing any of them turns the garbage collector off until the first invocation has
been answered (:mod:`tenantkit_runtime.coldgc`), and registers the SnapStart hooks when
the function is initialized for SnapStart (:mod:`tenantkit_runtime.snapstart`).
"""

from tenantkit_runtime import coldgc as _coldgc

_coldgc.suspend()  # before the function module's imports: see tenantkit_runtime.coldgc

from tenantkit_runtime import snapstart as _snapstart  # noqa: E402

_snapstart.register()
