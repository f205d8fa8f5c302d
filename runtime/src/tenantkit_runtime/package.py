"""``tenantkit package``: a Lambda deployment zip holding only the providers a
deployment names.

1. Each named provider (``--db``, ``--llm``, ``--storage``) is looked up in the
   core's entry-point index, without importing anything: the distribution that
   declares it goes in, and nothing else that declares providers. No provider name
   or distribution name is written down here.
2. ``tenantkit``, ``tenantkit-runtime`` and those distributions are turned into
   wheels: built from their source directory when installed from one (a workspace
   member, an editable install), taken from the local wheel they were installed
   from, or pinned to the installed version otherwise.
3. ``uv pip install --target`` installs the wheels and their dependencies for the
   Lambda platform (``{x86_64|aarch64}-manylinux_2_28``, the chosen Python,
   ``--only-binary :all:``); versions are constrained to the ones installed here, so
   the artifact runs what the tests ran. Without ``uv``, ``pip install --target
   --platform manylinux2014_{arch}`` does the same.
4. ``__pycache__`` and ``tests`` directories, the ``bin`` scripts, the installer's
   ``.lock`` file and the runtime's local-only code (``tenantkit_runtime/local``: the
   ``tenantkit serve`` server and the local token issuer, which no function imports;
   ``tenantkit_runtime/console``: the built web console, which the CDN serves)
   are dropped; a frozen entry-point index
   (:func:`tenantkit.plugins.write_frozen_index`) is written at the root, so a cold
   Lambda container finds its providers in one small read.

   With ``use_runtime_boto3`` (``--use-runtime-boto3``) boto3, botocore, s3transfer
   and jmespath are dropped too: the Lambda Python runtime ships its own. The artifact
   is then several times smaller (botocore is most of it), at a price: the functions
   run the boto3 AWS put in the runtime, a version that is not the one the tests ran,
   that changes when AWS updates the runtime, and that may lag behind the one pinned
   here (an API parameter newer than it is refused). Keep the default when the
   deployment must run exactly what was tested.
5. Every Python file is compiled to bytecode (``compileall``, unchecked-hash ``.pyc``
   files, which Python uses without looking at the source's timestamp): ``/var/task``
   is read-only, so a function whose package has no usable bytecode compiles every
   module from source on every cold start. Bytecode is specific to a Python version:
   the build compiles with a Python of the target version (itself, ``python3.13`` on
   PATH or one uv manages); with none, the step is skipped and the report says so.
6. The zip is deterministic: sorted entries, fixed timestamps and permissions.

Handlers are then ``tenantkit_runtime.functions.<name>.handler``.
"""

from __future__ import annotations

import compileall
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from py_compile import PycInvalidationMode
from urllib.parse import unquote, urlparse

from tenantkit.errors import ConfigurationError, PluginConflict, ProviderNotFound
from tenantkit.plugins import EntryPointIndex, write_frozen_index
from tenantkit.registry import Kind

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_ARCH",
    "DEFAULT_PYTHON",
    "RUNTIME_PROVIDED",
    "PackageReport",
    "build_package",
]

ARCHITECTURES = ("x86_64", "arm64")
#: The template's ``Architecture`` default is the same (``runtime/deploy/template.yaml``).
DEFAULT_ARCH = "x86_64"
#: The template's ``Runtime`` (``python3.13``): the newest Lambda Python the code is tested on.
DEFAULT_PYTHON = "3.13"
#: The distributions the Lambda Python runtime provides, left out with ``use_runtime_boto3``.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")
#: Installed code that only runs on a developer's machine (``tenantkit serve``, the local
#: token issuer, the built web console: CloudFront serves it on AWS), relative to the
#: artifact's root.
_LOCAL_ONLY = ("tenantkit_runtime/local", "tenantkit_runtime/console")
#: The distributions every artifact holds, whatever the providers.
BASE_DISTRIBUTIONS = ("tenantkit", "tenantkit-runtime")

_UV_PLATFORMS = {"x86_64": "x86_64-manylinux_2_28", "arm64": "aarch64-manylinux_2_28"}
_PIP_PLATFORMS = {
    "x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64"),
    "arm64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
}
_DROPPED_DIRS = frozenset({"__pycache__", "tests"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class PackageReport:
    """What :func:`build_package` built."""

    path: Path
    providers: dict[Kind, tuple[str, str]]
    """kind → (provider name, distribution providing it)"""
    distributions: dict[str, str] = field(default_factory=dict)
    """every distribution in the artifact → its version"""
    size: int = 0
    sha256: str = ""
    bytecode: bool = False
    """whether the artifact's Python files were compiled to ``.pyc`` files"""
    notes: list[str] = field(default_factory=list)
    """what the build had to leave out, in words"""
    sizes: dict[str, int] = field(default_factory=dict)
    """every distribution → the compressed bytes of its files in the zip (the frozen
    index and the like under ``"(artifact)"``)"""

    def summary(self) -> str:
        providers = ", ".join(f"{k} {n} ({d})" for k, (n, d) in self.providers.items())
        text = (
            f"{self.path}: {len(self.distributions)} distributions, {self.size:,} bytes, "
            f"sha256 {self.sha256}; providers: {providers}"
        )
        width = max((len(n) for n in self.sizes), default=0)
        rows = [
            f"  {name:<{width}}  {size:>12,} bytes"
            for name, size in sorted(self.sizes.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return "\n".join([text, *rows, *(f"note: {note}" for note in self.notes)])


def build_package(
    *,
    db: str,
    llm: str,
    storage: str,
    out: Path | str,
    arch: str = DEFAULT_ARCH,
    python: str = DEFAULT_PYTHON,
    path: Sequence[str] | None = None,
    use_runtime_boto3: bool = False,
    progress: Callable[[str], None] | None = None,
) -> PackageReport:
    """Build the Lambda zip ``out`` for the named providers (see the module doc).

    Args:
        path: where to look for installed distributions (``sys.path`` by default).
        use_runtime_boto3: leave out what the Lambda runtime provides
            (:data:`RUNTIME_PROVIDED`); see the module doc for the trade-off.
        progress: told each step as it starts, in words.

    Raises:
        ProviderNotFound: no installed distribution provides a named provider.
        PluginConflict: two distributions claim one.
        ConfigurationError: a bad argument, or the build or install step failed.
    """
    if arch not in ARCHITECTURES:
        raise ConfigurationError(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    if not re.fullmatch(r"3\.\d{1,2}", python):
        raise ConfigurationError(f"--python must look like 3.13, not {python!r}")
    out = Path(out)
    if out.suffix != ".zip":
        raise ConfigurationError(f"--out must name a .zip file, not {str(out)!r}")
    step = progress or (lambda _: None)
    search_path = list(sys.path if path is None else path)
    step(f"finding the distributions of db {db!r}, llm {llm!r}, storage {storage!r}")
    index = EntryPointIndex(search_path, cache_dir=None)
    providers: dict[Kind, tuple[str, str]] = {}
    named: list[tuple[Kind, str]] = [("db", db), ("llm", llm), ("storage", storage)]
    for kind, name in named:
        providers[kind] = (name, _provider_distribution(index, kind, name))
    wanted = list(dict.fromkeys([*BASE_DISTRIBUTIONS, *(d for _, d in providers.values())]))

    with tempfile.TemporaryDirectory(prefix="tenantkit-package-") as tmp:
        work = Path(tmp)
        step(f"building wheels of {', '.join(wanted)}")
        wheels, pins = _requirements(wanted, search_path, work / "wheels")
        constraints = work / "constraints.txt"
        constraints.write_text(_constraints(search_path, exclude=wanted))
        stage = work / "stage"
        step(f"installing them and their dependencies for {arch}, Python {python}")
        _install(wheels + pins, constraints, stage, arch=arch, python=python)
        _clean(stage)
        report = PackageReport(path=out, providers=providers)
        if use_runtime_boto3:
            removed = _drop_distributions(stage, RUNTIME_PROVIDED)
            report.notes.append(
                f"left out for the Lambda runtime's own: {', '.join(removed) or 'nothing'}"
            )
        step("compiling bytecode")
        note = _compile_bytecode(stage, python, _interpreter_for(python))
        write_frozen_index(stage)
        report.bytecode = note is None
        if note is not None:
            report.notes.append(note)
        owners = _owners(stage)
        report.distributions = {
            dist.metadata["Name"]: dist.version
            for dist in metadata.distributions(path=[str(stage)])
        }
        step(f"writing {out}")
        report.sizes = _zip(stage, out, owners)
    data = out.read_bytes()
    report.size = len(data)
    report.sha256 = hashlib.sha256(data).hexdigest()
    return report


def _provider_distribution(index: EntryPointIndex, kind: Kind, name: str) -> str:
    refs = index.lookup(kind, name)
    if not refs:
        installed = sorted({r.name for r in index.all(kind)})
        raise ProviderNotFound(
            f"no {kind} provider named {name!r} is installed here "
            f"(installed: {', '.join(installed) or 'none'}); install the plugin that "
            "provides it before packaging"
        )
    distributions = sorted({r.distribution for r in refs})
    if len(distributions) > 1:
        raise PluginConflict(
            f"{kind} provider {name!r} is claimed by {' and '.join(distributions)}; "
            "uninstall one before packaging"
        )
    return distributions[0]


def _requirements(
    names: Sequence[str], search_path: Sequence[str], wheel_dir: Path
) -> tuple[list[str], list[str]]:
    """Wheel files for the distributions installed from source or a local wheel;
    ``name==version`` pins for the others."""
    wheel_dir.mkdir(parents=True)
    wheels: list[str] = []
    pins: list[str] = []
    for name in names:
        dist = _find(name, search_path)
        source = _local_source(dist)
        if source is None:
            pins.append(f"{dist.metadata['Name']}=={dist.version}")
        elif source.is_dir():
            wheels.append(str(_build_wheel(source, wheel_dir)))
        else:
            wheels.append(str(source))
    return wheels, pins


def _find(name: str, search_path: Sequence[str]) -> metadata.Distribution:
    wanted = _normalize(name)
    for dist in metadata.distributions(path=list(search_path)):
        if _normalize(dist.metadata["Name"] or "") == wanted:
            return dist
    raise ConfigurationError(f"{name} is not installed here; it must be to be packaged")


def _local_source(dist: metadata.Distribution) -> Path | None:
    """The source directory or wheel a distribution was installed from (PEP 610)."""
    text = dist.read_text("direct_url.json")
    if not text:
        return None
    try:
        info = json.loads(text)
        parsed = urlparse(info["url"])
    except (ValueError, KeyError, TypeError):
        return None
    if parsed.scheme != "file":
        return None
    source = Path(unquote(parsed.path))
    if "dir_info" in info and source.is_dir():
        return source
    if source.suffix == ".whl" and source.is_file():
        return source
    return None


def _uv() -> str | None:
    """The uv executable: the one running us (``uv run`` sets ``UV``), else on PATH."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None and importlib.util.find_spec("pip") is None:
        raise ConfigurationError("packaging needs uv (or pip): install uv and run it again")
    return uv


def _build_wheel(source: Path, wheel_dir: Path) -> Path:
    before = set(wheel_dir.glob("*.whl"))
    uv = _uv()
    if uv is not None:
        command = [uv, "build", "--wheel", "--quiet", "--out-dir", str(wheel_dir), str(source)]
    else:
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
        command += ["--wheel-dir", str(wheel_dir), str(source)]
    _run(command, f"building a wheel of {source}")
    built = sorted(set(wheel_dir.glob("*.whl")) - before)
    if len(built) != 1:
        raise ConfigurationError(f"building {source} produced {len(built)} wheels, expected 1")
    return built[0]


def _constraints(search_path: Sequence[str], *, exclude: Sequence[str]) -> str:
    skip = {_normalize(n) for n in exclude}
    pins: dict[str, str] = {}
    for dist in metadata.distributions(path=list(search_path)):
        name = dist.metadata["Name"]
        if name and _normalize(name) not in skip and _local_source(dist) is None:
            pins.setdefault(_normalize(name), f"{name}=={dist.version}")
    return "".join(f"{pin}\n" for _, pin in sorted(pins.items()))


def _install(
    requirements: Sequence[str], constraints: Path, target: Path, *, arch: str, python: str
) -> None:
    uv = _uv()
    if uv is not None:
        command = [
            uv, "pip", "install", "--quiet", "--target", str(target),
            "--python", sys.executable,
            "--python-platform", _UV_PLATFORMS[arch],
            "--python-version", python,
            "--only-binary", ":all:",
            "--link-mode", "copy",
            "--constraint", str(constraints),
        ]  # fmt: skip
    else:
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
            "--python-version", python, "--implementation", "cp",
            "--only-binary=:all:", "--constraint", str(constraints),
        ]  # fmt: skip
        for platform in _PIP_PLATFORMS[arch]:
            command += ["--platform", platform]
    _run([*command, *requirements], "installing the artifact's distributions")


def _run(command: Sequence[str], what: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "UV_PROJECT"))}
    # The commands are fixed argument lists (uv or pip, paths made here): no shell.
    result = subprocess.run(  # noqa: S603
        command, capture_output=True, text=True, env=env, check=False
    )
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise ConfigurationError(f"{what} failed (exit {result.returncode}):\n{detail}")


def _clean(stage: Path) -> None:
    for directory in sorted(stage.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and directory.name in _DROPPED_DIRS:
            shutil.rmtree(directory)
    shutil.rmtree(stage / "bin", ignore_errors=True)
    for local in _LOCAL_ONLY:
        shutil.rmtree(stage / local, ignore_errors=True)
    (stage / ".lock").unlink(missing_ok=True)  # uv's lock on the target directory
    for stray in stage.rglob("*.py[co]"):
        stray.unlink()


def _drop_distributions(stage: Path, names: Sequence[str]) -> list[str]:
    """Remove these distributions' files and metadata from ``stage``; the names removed."""
    wanted = {_normalize(n) for n in names}
    removed: list[str] = []
    for dist in metadata.distributions(path=[str(stage)]):
        name = dist.metadata["Name"] or ""
        if _normalize(name) not in wanted:
            continue
        for file in dist.files or ():
            target = stage / file
            if target.is_file():
                target.unlink()
        info = getattr(dist, "_path", None)
        if isinstance(info, Path) and info.is_dir():
            shutil.rmtree(info)
        removed.append(name)
    for directory in sorted(stage.iterdir()):
        if directory.is_dir() and not any(directory.rglob("*")):
            directory.rmdir()
    return sorted(removed)


def _owners(stage: Path) -> dict[str, str]:
    """Each top-level name of the artifact → the distribution that installed it."""
    owners: dict[str, str] = {}
    for dist in metadata.distributions(path=[str(stage)]):
        name = dist.metadata["Name"] or "?"
        for file in dist.files or ():
            top = file.parts[0]
            if top not in ("..", "bin"):
                owners.setdefault(top, name)
    return owners


def _compile_bytecode(stage: Path, python: str, interpreter: str | None = None) -> str | None:
    """Compile every Python file under ``stage`` for Python ``python`` (``3.13``).

    Bytecode is specific to a Python version: this interpreter compiles for its own,
    ``interpreter`` (a Python ``python`` executable, see :func:`_interpreter_for`) for
    another. Returns None once done, or a note saying why nothing was compiled.
    """
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here == python:
        compileall.compile_dir(
            stage,
            quiet=2,  # a file that does not compile cannot be imported either
            stripdir=str(stage),  # paths inside the bytecode are the artifact's, not ours
            invalidation_mode=PycInvalidationMode.UNCHECKED_HASH,
        )
        return None
    if interpreter is None:
        return (
            f"no bytecode compiled: the artifact targets Python {python}, this is Python "
            f"{here} and no python{python} was found (on PATH, or uv-managed: uv python "
            f"install {python}); without it a cold start compiles every module from source"
        )
    # A Python of the target version found on this machine: no shell, fixed arguments.
    subprocess.run(  # noqa: S603
        [
            interpreter, "-m", "compileall", "-q", "-q", "-s", str(stage),
            "--invalidation-mode", "unchecked-hash", str(stage),
        ],
        capture_output=True,
        check=False,  # as above: a file that does not compile cannot be imported either
    )  # fmt: skip
    return None


def _interpreter_for(python: str) -> str | None:
    """A Python ``python`` executable on this machine (``python3.13`` on PATH, or one uv
    manages), or ``None``."""
    candidates = [shutil.which(f"python{python}")]
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is not None:
        found = subprocess.run(  # noqa: S603 - fixed arguments
            [uv, "python", "find", "--no-project", python],
            capture_output=True,
            text=True,
            check=False,
        )
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    for candidate in candidates:
        if not candidate:
            continue
        version = subprocess.run(  # noqa: S603 - fixed arguments
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if version.stdout.strip() == python:
            return candidate
    return None


def _zip(stage: Path, out: Path, owners: Mapping[str, str] | None = None) -> dict[str, int]:
    """Write the deterministic zip; the compressed bytes per owning distribution."""
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    sizes: dict[str, int] = {}
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for file in files:
            relative = file.relative_to(stage)
            info = zipfile.ZipInfo(relative.as_posix(), date_time=_ZIP_TIME)
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions above are honoured
            archive.writestr(info, file.read_bytes(), compresslevel=6)
            owner = _owner(relative, owners or {})
            sizes[owner] = sizes.get(owner, 0) + archive.getinfo(info.filename).compress_size
    tmp.replace(out)
    return sizes


def _owner(relative: Path, owners: Mapping[str, str]) -> str:
    top = relative.parts[0]
    if top == "__pycache__" and len(relative.parts) == 2:  # a top-level module's bytecode
        top = relative.name.split(".")[0] + ".py"
    return owners.get(top, "(artifact)")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
