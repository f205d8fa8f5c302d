"""Cost of pydantic's ``use_attribute_docstrings`` on the plugins' settings classes.

Field docstrings reach a model's JSON schema (``tenantkit secret schema``) only when
pydantic reads them from the class's source at class creation. Settings classes are
built when a plugin is imported, on the Lambda cold start path, so this measures what
that costs per class, and what it yields when only bytecode is deployed.

The settings modules of the installed plugins, and one class of eight fields
documented with docstrings, are copied into a scratch package and
imported again and again from their bytecode, the line cache cleared each time (as in a
fresh process), in three modes interleaved round by round: the option off, the option
on with the sources next to the bytecode, and the option on with bytecode only.

    uv run python bench/settings_docstrings.py [--rounds 41]
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import linecache
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

import tenantkit

PLUGINS = [
    "tenantkit_db_dynamodb",
    "tenantkit_db_postgres",
    "tenantkit_llm_claude",
    "tenantkit_llm_gemini",
    "tenantkit_llm_openai",
    "tenantkit_store_s3",
]


def _scratch(root: Path, name: str, *, sources: bool) -> list[str]:
    """Copy each plugin's settings.py into package ``name``; return module names."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    modules = []
    for plugin in PLUGINS:
        source = Path(importlib.import_module(plugin).__file__ or "").parent / "settings.py"
        shutil.copy(source, package / f"{plugin}.py")
        modules.append(f"{name}.{plugin}")
    # One class documented with field docstrings, to see which modes keep them.
    fields = "".join(f'    field_{n}: int = {n}\n    """Field {n}."""\n' for n in range(8))
    (package / "documented.py").write_text(
        f"import tenantkit\n\n\nclass Documented(tenantkit.ProviderSettings):\n{fields}"
    )
    modules.append(f"{name}.documented")
    compileall.compile_dir(str(package), quiet=1, legacy=not sources)
    if not sources:
        for path in package.glob("*.py"):
            path.unlink()
    return modules


def _import_all(modules: list[str]) -> tuple[float, list[type[BaseModel]]]:
    for module in modules:
        sys.modules.pop(module, None)
    linecache.clearcache()
    start = time.perf_counter()
    loaded = [importlib.import_module(m) for m in modules]
    elapsed = time.perf_counter() - start
    classes = [
        value
        for module in loaded
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, tenantkit.ProviderSettings)
        and value.__module__ == module.__name__
    ]
    return elapsed, classes


def _described(classes: list[type[BaseModel]]) -> int:
    """How many of the 8 field docstrings of ``Documented`` became descriptions."""
    documented = next(cls for cls in classes if cls.__name__ == "Documented")
    return sum(1 for field in documented.model_fields.values() if field.description)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp())
    sys.path.insert(0, str(root))
    config = tenantkit.ProviderSettings.model_config
    modes = {
        "off": ("with_sources", False),
        "on, sources": ("with_sources", True),
        "on, bytecode only": ("bytecode_only", True),
    }
    modules = {
        "with_sources": _scratch(root, "with_sources", sources=True),
        "bytecode_only": _scratch(root, "bytecode_only", sources=False),
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    found: dict[str, tuple[int, int]] = {}
    try:
        for _ in range(args.rounds):
            for mode, (package, docstrings) in modes.items():
                config["use_attribute_docstrings"] = docstrings
                elapsed, classes = _import_all(modules[package])
                times[mode].append(elapsed / len(classes))
                found[mode] = (len(classes), _described(classes))
    finally:
        config.pop("use_attribute_docstrings", None)
        shutil.rmtree(root)
    base = statistics.median(times["off"])
    print(f"{'mode':<20} {'classes':>7} {'docstrings kept':>15} {'ms/class':>9} {'+ms/class':>10}")
    for mode in modes:
        median = statistics.median(times[mode])
        classes, described = found[mode]
        print(
            f"{mode:<20} {classes:>7} {described:>13}/8 {median * 1e3:>9.3f} "
            f"{(median - base) * 1e3:>+10.3f}"
        )


if __name__ == "__main__":
    main()
