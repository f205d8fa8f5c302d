"""The entry-point index records whether pydantic plugins are installed, so that
pydantic's own scan of every distribution's entry points is skipped when none is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tenantkit.plugins import (
    FROZEN_INDEX,
    PYDANTIC_DISABLE_PLUGINS,
    EntryPointIndex,
    skip_pydantic_plugin_scan,
    write_frozen_index,
)

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import SiteDir


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYDANTIC_DISABLE_PLUGINS, raising=False)


def test_no_pydantic_plugin_sets_the_variable(site_dir: SiteDir, no_variable: None) -> None:
    site_dir.install("tenantkit-db-a", entry_points={"tenantkit.db": {"a": "ma"}})
    index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
    assert index.pydantic_plugins() == []
    assert skip_pydantic_plugin_scan(index) is True
    assert os.environ[PYDANTIC_DISABLE_PLUGINS] == "__all__"


def test_an_installed_pydantic_plugin_is_left_to_pydantic(
    site_dir: SiteDir, no_variable: None, tmp_path: Path
) -> None:
    site_dir.install("logfire-like", entry_points={"pydantic": {"plugin": "somewhere:plugin"}})
    index = EntryPointIndex([str(site_dir.path)], cache_dir=tmp_path)
    assert index.pydantic_plugins() == ["logfire-like"]
    assert skip_pydantic_plugin_scan(index) is False
    assert PYDANTIC_DISABLE_PLUGINS not in os.environ
    # The on-disk cache keeps the answer for the next process.
    again = EntryPointIndex([str(site_dir.path)], cache_dir=tmp_path)
    assert again.pydantic_plugins() == ["logfire-like"]


def test_a_variable_already_set_is_kept(site_dir: SiteDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYDANTIC_DISABLE_PLUGINS, "some-plugin")
    index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
    assert skip_pydantic_plugin_scan(index) is False
    assert os.environ[PYDANTIC_DISABLE_PLUGINS] == "some-plugin"


def test_the_frozen_index_records_pydantic_plugins(site_dir: SiteDir, no_variable: None) -> None:
    site_dir.install("with-plugin", entry_points={"pydantic": {"p": "m:p"}})
    site_dir.install("tenantkit-llm-b", entry_points={"tenantkit.llm": {"b": "mb"}})
    document = json.loads(write_frozen_index(site_dir.path).read_text())
    flags = {d["distribution"]: d["pydantic_plugins"] for d in document["distributions"]}
    assert flags == {"with-plugin": True, "tenantkit-llm-b": False}
    index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
    assert index.pydantic_plugins() == ["with-plugin"]
    assert skip_pydantic_plugin_scan(index) is False


def test_a_frozen_index_of_the_former_format_leaves_it_unknown(
    site_dir: SiteDir, no_variable: None
) -> None:
    (site_dir.path / FROZEN_INDEX).write_text(
        json.dumps(
            {
                "format": 1,
                "distributions": [
                    {
                        "distribution": "tenantkit-db-c",
                        "entry_points": [
                            {
                                "kind": "db",
                                "name": "c",
                                "value": "mc",
                                "distribution": "tenantkit-db-c",
                                "version": "1",
                            }
                        ],
                    }
                ],
            }
        )
    )
    index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
    assert [r.value for r in index.lookup("db", "c")] == ["mc"]
    assert index.pydantic_plugins() is None
    assert skip_pydantic_plugin_scan(index) is False


def test_a_fresh_process_builds_its_models_without_the_scan(tmp_path: Path) -> None:
    # This workspace has no pydantic plugin: importing the core sets the variable
    # before its first model is built, and pydantic never reads the entry points.
    program = (
        "import os, pydantic.plugin._loader as loader\n"
        "import tenantkit.config\n"
        "from tenantkit import ChatRequest, Message\n"
        "ChatRequest(messages=[Message(role='user', content='hi')])\n"
        "print(os.environ.get('PYDANTIC_DISABLE_PLUGINS'), loader._plugins)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != PYDANTIC_DISABLE_PLUGINS}
    env["TENANTKIT_CACHE_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["__all__", "None"]
