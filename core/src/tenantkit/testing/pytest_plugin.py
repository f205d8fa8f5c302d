"""pytest plugin (entry point ``pytest11``): registers the conformance kit's marker.

It imports nothing heavy, so installing tenantkit costs other projects' test runs nothing.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "conformance(kind, section): a test from tenantkit's provider conformance kit",
    )
