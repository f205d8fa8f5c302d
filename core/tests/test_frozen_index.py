"""A frozen entry-point index: one file at the root of a directory that never changes
(a Lambda deployment package), read instead of its distributions' metadata."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tenantkit.plugins import FROZEN_INDEX, EntryPointIndex, Plugins, write_frozen_index

if TYPE_CHECKING:
    from .conftest import SiteDir


def test_the_frozen_file_answers_without_the_metadata(
    site_dir: SiteDir, memory_plugin: Callable[[str], str]
) -> None:
    module = site_dir.module_name("frozen_plugin")
    site_dir.install(
        "tenantkit-db-frozen",
        version="1.2",
        entry_points={"tenantkit.db": {"frozen": module}},
        modules={module: memory_plugin("frozen")},
    )
    site_dir.install("unrelated", entry_points={"console_scripts": {"x": "y:z"}})
    path = write_frozen_index(site_dir.path)
    assert path == site_dir.path / FROZEN_INDEX
    document = json.loads(path.read_text())
    assert [d["distribution"] for d in document["distributions"]] == ["tenantkit-db-frozen"]
    for dist_info in site_dir.path.glob("*.dist-info"):
        shutil.rmtree(dist_info)  # from now on only the frozen file can tell
    index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
    (ref,) = index.lookup("db", "frozen")
    assert (ref.distribution, ref.version, ref.module) == ("tenantkit-db-frozen", "1.2", module)
    assert Plugins(index).get("db", "frozen").name == "frozen"


def test_an_earlier_frozen_entry_shadows_a_later_one(
    site_dir: SiteDir, tmp_path_factory: pytest.TempPathFactory
) -> None:
    site_dir.install("tenantkit-db-x", version="2.0", entry_points={"tenantkit.db": {"x": "m2"}})
    write_frozen_index(site_dir.path)
    later = tmp_path_factory.mktemp("later")
    dist_info = later / "tenantkit_db_x-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tenantkit-db-x\nVersion: 1.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[tenantkit.db]\nx = m1\n")
    index = EntryPointIndex([str(site_dir.path), str(later)], cache_dir=None)
    assert [(r.version, r.value) for r in index.lookup("db", "x")] == [("2.0", "m2")]


def test_an_unreadable_frozen_file_is_ignored(
    site_dir: SiteDir, caplog: pytest.LogCaptureFixture
) -> None:
    site_dir.install("tenantkit-db-y", entry_points={"tenantkit.db": {"y": "my"}})
    (site_dir.path / FROZEN_INDEX).write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="tenantkit.plugins"):
        index = EntryPointIndex([str(site_dir.path)], cache_dir=None)
        assert [r.distribution for r in index.lookup("db", "y")] == ["tenantkit-db-y"]
    assert FROZEN_INDEX in caplog.text
