"""``tenantkit package``: artifacts hold core, runtime and only the named plugins, and
run from an empty folder in a fresh interpreter.

These tests build real artifacts: wheels of the workspace members, dependencies
installed by uv for the Lambda platform (from its cache, or PyPI).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tenantkit.errors import ConfigurationError, ProviderNotFound
from tenantkit.plugins import FROZEN_INDEX, EntryPointIndex
from tenantkit.registry import KINDS
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.package import _compile_bytecode, _zip, build_package

#: The artifacts that run here are built for this Python.
HERE = f"{sys.version_info.major}.{sys.version_info.minor}"

if TYPE_CHECKING:
    from .conftest import JwksServer

pytestmark = pytest.mark.timeout(240)

# Run inside the artifact: verify a locally issued token (argv[2]) with the packaged
# authorizer (PyJWT, cryptography, httpx from the artifact), load the named LLM
# provider, and report where everything came from.
_PROBE = textwrap.dedent(
    """
    import json, sys
    folder = sys.argv[1]
    from tenantkit_runtime.functions import auth
    from tenantkit.plugins import Plugins, EntryPointIndex
    token = sys.argv[2]
    event = {
        "version": "2.0", "type": "REQUEST",
        "routeArn": "arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/x",
        "identitySource": ["Bearer " + token], "routeKey": "GET /x", "rawPath": "/x",
        "headers": {"authorization": "Bearer " + token}, "requestContext": {},
    }
    answer = auth.handler(event, None)
    import jwt, cryptography, httpx, tenantkit, tenantkit_runtime
    llm = Plugins(EntryPointIndex(cache_dir=None)).get("llm", sys.argv[3])
    print(json.dumps({
        "answer": answer,
        "sys_path": sys.path,
        "files": [m.__file__ for m in (jwt, cryptography, httpx, tenantkit, tenantkit_runtime)],
        "llm": [llm.name, llm.distribution],
    }))
    """
)


def _unpack(artifact: Path, folder: Path) -> Path:
    folder.mkdir()
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(folder)
    return folder


def _run_probe(
    folder: Path, llm: str, issuer: LocalIssuer, jwks_server: JwksServer
) -> dict[str, Any]:
    token = issuer.issue(tenant="acme", user="alice", roles=["admin"])
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(folder),
        "TENANTKIT_CACHE_DIR": str(folder.parent / "cache"),
        **issuer.auth_environment(jwks_server.serve("/jwks", issuer.jwks())),
    }
    # -S: no site-packages; -s: no user site; -P: no current directory on the path.
    result = subprocess.run(
        [sys.executable, "-P", "-S", "-s", "-c", _PROBE, str(folder), token, llm],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder.parent,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _plugin_distributions(folder: Path) -> dict[str, set[str]]:
    """kind → the distributions in ``folder`` that declare providers of that kind."""
    index = EntryPointIndex([str(folder)], cache_dir=None)
    return {kind: {ref.distribution for ref in index.all(kind)} for kind in KINDS}


def test_embedded_providers_artifact_runs_from_an_empty_folder(
    tmp_path: Path, local_issuer: LocalIssuer, jwks_server: JwksServer
) -> None:
    report = build_package(
        db="sqlite", llm="echo", storage="local", out=tmp_path / "a.zip", python=HERE
    )
    assert report.providers == {
        "db": ("sqlite", "tenantkit"),
        "llm": ("echo", "tenantkit"),
        "storage": ("local", "tenantkit"),
    }
    folder = _unpack(report.path, tmp_path / "unpacked")

    dist_infos = {p.name.split("-")[0].lower() for p in folder.glob("*.dist-info")}
    assert {"tenantkit", "tenantkit_runtime", "pyjwt", "cryptography", "httpx"} <= dist_infos
    # Only the core declares providers: no plugin distribution came along.
    assert _plugin_distributions(folder) == {k: {"tenantkit"} for k in KINDS}
    installed_plugins = {
        ref.distribution
        for kind in KINDS
        for ref in EntryPointIndex(cache_dir=None).all(kind)
        if ref.distribution != "tenantkit"
    }
    names_here = {metadata.Distribution.at(p).metadata["Name"] for p in folder.glob("*.dist-info")}
    assert not installed_plugins & names_here
    # Nothing the zip should not carry, and the frozen index is at the root.
    assert not [p for p in folder.rglob("tests") if p.is_dir()]
    assert not (folder / "bin").exists()
    assert not (folder / ".lock").exists()
    # The local server and token issuer (tenantkit serve) only run on a laptop.
    assert not (folder / "tenantkit_runtime" / "local").exists()
    # The web console is served by the CDN, not by a function.
    assert not (folder / "tenantkit_runtime" / "console").exists()
    assert (folder / "tenantkit_runtime" / "functions" / "auth.py").is_file()
    # Sizes per distribution add up to the zip's entries.
    with zipfile.ZipFile(report.path) as archive:
        assert sum(report.sizes.values()) == sum(i.compress_size for i in archive.infolist())
    assert set(report.distributions) <= set(report.sizes)
    assert report.sizes["cryptography"] > report.sizes["tenantkit"] > 0
    assert re.search(
        rf"\n  cryptography +{report.sizes['cryptography']:,} bytes\n", report.summary()
    )
    frozen = json.loads((folder / FROZEN_INDEX).read_text())
    providing = [d["distribution"] for d in frozen["distributions"] if d["entry_points"]]
    assert providing == ["tenantkit"]
    # Native code for the Lambda architecture (ELF e_machine 62: x86_64).
    libraries = [p for p in folder.rglob("*.so*") if p.is_file()]
    assert libraries
    assert {p.read_bytes()[18:20] for p in libraries} == {(62).to_bytes(2, "little")}

    # Bytecode for every module of the core and the runtime, for this Python, used
    # whatever the sources' timestamps (unchecked hash): nothing to compile at a cold
    # start, and nothing that could be written in a read-only /var/task.
    assert report.bytecode
    assert not report.notes
    sources = [*(folder / "tenantkit").rglob("*.py"), *(folder / "tenantkit_runtime").rglob("*.py")]
    assert len(sources) > 20
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        header = cached.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == 0b01, source  # hash, unchecked
    compiled = {p: p.stat().st_mtime_ns for p in folder.rglob("*.pyc")}

    probe = _run_probe(folder, "echo", local_issuer, jwks_server)
    # The probe imported from the artifact's bytecode: it neither rewrote nor added any.
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.pyc")} == compiled
    assert probe["answer"] == {
        "isAuthorized": True,
        "context": {"tenant_id": "acme", "user_id": "alice", "roles": "admin"},
    }
    assert all(file.startswith(str(folder)) for file in probe["files"])
    assert not [p for p in probe["sys_path"] if "site-packages" in p]
    assert probe["llm"] == ["echo", "tenantkit"]


def test_arm64_artifacts_carry_aarch64_native_code(tmp_path: Path) -> None:
    report = build_package(
        db="sqlite", llm="echo", storage="local", out=tmp_path / "arm.zip", arch="arm64"
    )
    with zipfile.ZipFile(report.path) as archive:
        libraries = [n for n in archive.namelist() if n.endswith(".so") or ".so." in n]
        machines = {archive.read(n)[18:20] for n in libraries}
    assert libraries  # cryptography, cffi, pydantic-core
    assert machines == {(183).to_bytes(2, "little")}  # ELF e_machine EM_AARCH64


def _throwaway_plugin(root: Path) -> list[str]:
    """A real plugin project (hatchling) and an install record pointing at its source,
    as an editable install leaves it; returns the path to search."""
    project = root / "tenantkit-db-demo"
    package = project / "src" / "tenantkit_db_demo"
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["hatchling>=1.25"]
            build-backend = "hatchling.build"

            [project]
            name = "tenantkit-db-demo"
            version = "0.3.0"
            requires-python = ">=3.11"
            dependencies = ["tenantkit", "tomli>=2.0"]

            [project.entry-points."tenantkit.db"]
            demo = "tenantkit_db_demo"

            [tool.hatch.build.targets.wheel]
            packages = ["src/tenantkit_db_demo"]
            """
        )
    )
    (package / "__init__.py").write_text('"""A demo database plugin."""\n')
    site = root / "site"
    dist_info = site / "tenantkit_db_demo-0.3.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tenantkit-db-demo\nVersion: 0.3.0\n"
    )
    (dist_info / "entry_points.txt").write_text("[tenantkit.db]\ndemo = tenantkit_db_demo\n")
    (dist_info / "direct_url.json").write_text(
        json.dumps({"url": project.as_uri(), "dir_info": {"editable": True}})
    )
    return [str(site), *sys.path]


def test_a_named_plugin_comes_with_its_dependencies_and_nothing_else(tmp_path: Path) -> None:
    path = _throwaway_plugin(tmp_path / "src")
    report = build_package(
        db="demo", llm="echo", storage="local", out=tmp_path / "b.zip", path=path
    )
    assert report.providers["db"] == ("demo", "tenantkit-db-demo")
    assert report.distributions["tenantkit-db-demo"] == "0.3.0"
    assert "tomli" in report.distributions  # the plugin's own dependency
    folder = _unpack(report.path, tmp_path / "unpacked")
    assert _plugin_distributions(folder) == {
        "db": {"tenantkit", "tenantkit-db-demo"},
        "llm": {"tenantkit"},
        "storage": {"tenantkit"},
    }
    assert (folder / "tenantkit_db_demo" / "__init__.py").is_file()


@pytest.mark.skipif(
    not EntryPointIndex(cache_dir=None).lookup("db", "dynamodb"),
    reason="no dynamodb plugin is installed in this workspace",
)
def test_a_workspace_plugin_artifact(tmp_path: Path) -> None:
    report = build_package(db="dynamodb", llm="echo", storage="local", out=tmp_path / "c.zip")
    folder = _unpack(report.path, tmp_path / "unpacked")
    plugin = report.providers["db"][1]
    assert _plugin_distributions(folder) == {
        "db": {"tenantkit", plugin},
        "llm": {"tenantkit"},
        "storage": {"tenantkit"},
    }


def test_unknown_providers_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderNotFound, match="'nosuchdb'") as info:
        build_package(db="nosuchdb", llm="echo", storage="local", out=tmp_path / "x.zip")
    assert "sqlite" in str(info.value)  # says what is installed
    with pytest.raises(ConfigurationError, match="--arch"):
        build_package(db="sqlite", llm="echo", storage="local", out=tmp_path / "x.zip", arch="z80")
    with pytest.raises(ConfigurationError, match="--out"):
        build_package(db="sqlite", llm="echo", storage="local", out=tmp_path / "x.tar")
    assert not list(tmp_path.iterdir())


def test_no_bytecode_for_another_python_and_the_report_says_so(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    other = f"3.{sys.version_info.minor + 1}"
    note = _compile_bytecode(tmp_path, other, interpreter=None)
    assert note is not None
    assert f"Python {other}" in note
    assert f"uv python install {other}" in note
    assert not list(tmp_path.rglob("*.pyc"))
    assert _compile_bytecode(tmp_path, f"3.{sys.version_info.minor}") is None
    assert list(tmp_path.rglob("*.pyc"))


def test_zips_are_deterministic(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "pkg").mkdir(parents=True)
    (stage / "pkg" / "b.py").write_text("B = 2\n")
    (stage / "pkg" / "a.py").write_text("A = 1\n")
    _zip(stage, tmp_path / "one.zip")
    os.utime(stage / "pkg" / "a.py", (0, 1_000_000_000))
    (stage / "pkg" / "a.py").chmod(0o600)
    _zip(stage, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        assert archive.namelist() == ["pkg/a.py", "pkg/b.py"]
        assert {i.external_attr >> 16 for i in archive.infolist()} == {0o100644}


@pytest.mark.skipif(
    not EntryPointIndex(cache_dir=None).lookup("db", "dynamodb"),
    reason="no dynamodb plugin is installed in this workspace",
)
def test_use_runtime_boto3_leaves_boto3_to_the_lambda_runtime(tmp_path: Path) -> None:
    common: dict[str, Any] = {"db": "dynamodb", "llm": "echo", "storage": "local", "python": HERE}
    full = build_package(**common, out=tmp_path / "full.zip")
    lean = build_package(**common, out=tmp_path / "lean.zip", use_runtime_boto3=True)
    assert {"boto3", "botocore", "s3transfer", "jmespath"} <= set(full.distributions)
    assert not {"boto3", "botocore", "s3transfer", "jmespath"} & set(lean.distributions)
    assert lean.size < full.size / 2
    assert any("Lambda runtime" in note for note in lean.notes)
    folder = _unpack(lean.path, tmp_path / "lean")
    assert not (folder / "botocore").exists()
    # As on Lambda: the artifact first on the path, then the runtime's own boto3 (here
    # the one installed for the tests, standing in for /var/runtime).
    import boto3

    runtime_dir = Path(boto3.__file__).parents[1]
    probe = (
        "import json, boto3, botocore, tenantkit_db_dynamodb\n"
        "from tenantkit.plugins import Plugins, EntryPointIndex\n"
        "spec = Plugins(EntryPointIndex(cache_dir=None)).get('db', 'dynamodb')\n"
        "print(json.dumps([boto3.__file__, tenantkit_db_dynamodb.__file__, spec.distribution]))"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-S", "-s", "-c", probe],
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": f"{folder}{os.pathsep}{runtime_dir}",
            "TENANTKIT_CACHE_DIR": str(tmp_path / "cache"),
        },
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    boto3_file, plugin_file, distribution = json.loads(result.stdout)
    assert boto3_file.startswith(str(runtime_dir))
    assert plugin_file.startswith(str(folder))
    assert distribution == full.providers["db"][1]


def test_package_help_shows_the_defaults_and_the_boto3_option() -> None:
    from tenantkit_runtime.package import DEFAULT_ARCH

    result = subprocess.run(
        [sys.executable, "-m", "tenantkit", "package", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert f"(default {DEFAULT_ARCH}, as the template's Architecture)" in text
    assert "--use-runtime-boto3" in text
    assert "not tested here" in text


def test_bytecode_for_another_python_comes_from_an_interpreter_of_that_version(
    tmp_path: Path,
) -> None:
    """What a build for the template's Python does from a venv of another version: the
    interpreter here stands in for the target one (the call is the same)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    other = f"3.{sys.version_info.minor + 1}"
    assert _compile_bytecode(tmp_path, other, interpreter=sys.executable) is None
    (compiled,) = tmp_path.rglob("*.pyc")
    header = compiled.read_bytes()[:8]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash, unchecked
