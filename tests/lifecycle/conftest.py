from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.lifecycle._tenants import close_all


@pytest.fixture(autouse=True)
def _close_resolvers() -> Iterator[None]:
    yield
    close_all()
