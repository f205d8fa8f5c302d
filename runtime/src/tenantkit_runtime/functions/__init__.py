"""The Lambda functions. Each module exposes ``handler(event, context)``.

Importing any of them registers the SnapStart hooks when the function is initialized
for SnapStart (:mod:`tenantkit_runtime.snapstart`).
"""

from tenantkit_runtime import snapstart as _snapstart

_snapstart.register()
