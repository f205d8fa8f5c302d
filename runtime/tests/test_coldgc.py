"""The garbage collector off during a function's cold start, back on after its first
invocation (tenantkit_runtime.coldgc)."""

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tenantkit_runtime import coldgc


@pytest.fixture(autouse=True)
def collector() -> Iterator[None]:
    coldgc.resume()  # whatever importing the functions left
    was = gc.isenabled()
    gc.enable()
    yield
    coldgc.resume()
    if not was:
        gc.disable()


def test_suspend_turns_collection_off_until_resume() -> None:
    assert coldgc.suspend() is True
    assert not gc.isenabled()
    assert coldgc.suspended()
    assert coldgc.suspend() is False  # already off
    coldgc.resume()
    assert gc.isenabled()
    assert not coldgc.suspended()
    coldgc.resume()  # a no-op now
    assert gc.isenabled()


def test_resume_freezes_what_initialization_built() -> None:
    gc.unfreeze()
    coldgc.suspend()
    coldgc.resume()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()


def test_collector_already_off_is_left_alone() -> None:
    gc.disable()
    assert coldgc.suspend() is False
    coldgc.resume()
    assert not gc.isenabled()


def test_default_keeps_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(coldgc.ENV, "default")
    assert coldgc.suspend() is False
    assert gc.isenabled()


_CHILD = """
import gc, json
import tenantkit_runtime.functions.config as config
during = gc.isenabled()
config.handler({"version": "2.0"}, None)  # malformed: answered with an error
print(json.dumps({"during": during, "after": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def _child(**env: str) -> dict[str, object]:
    environ = {k: v for k, v in os.environ.items() if k != coldgc.ENV}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_function_starts_with_collection_off_and_turns_it_on_after_its_first_answer() -> None:
    seen = _child()
    assert seen["during"] is False
    assert seen["after"] is True
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 0


def test_a_function_with_the_default_collector() -> None:
    seen = _child(**{coldgc.ENV: "default"})
    assert seen == {"during": True, "after": True, "frozen": 0}
