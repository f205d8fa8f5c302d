"""Cold-start cost of each LLM plugin (core included) beside the vendor SDK it replaces.

Each figure is the median, over fresh interpreters, of the time one ``import`` (or an
import plus building a client) takes inside the process; interpreter start-up is the
same for every candidate and left out. Every candidate is installed alone into its own
throwaway venv under ``bench/.venvs/`` (made with ``uv`` on this Python), as a Lambda
package would hold it: the plugins with the core and nothing else, each SDK by itself.
(The workspace venv would not do: with the dev tools installed, ``import httpx`` also
loads its command line, click, rich and pygments.) Every venv is compiled to bytecode
(``compileall``) before timing and the children run without
``PYTHONDONTWRITEBYTECODE``, as a deployed package ships ``.pyc`` files; an untimed run
of each candidate then warms the page cache. Runs are interleaved, so noise on the
shared machine hits every candidate alike.

    uv run python bench/llm_import_cost.py [--runs 15]

Add a provider with an entry in :data:`PROVIDERS` (its plugin directory goes into the
``plugins`` environment of :data:`ENVS`, its SDK into an environment of its own).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from _bytecode import child_env, compile_environment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".venvs"

#: Environment name → what is installed into it (PyPI names or local directories).
ENVS: dict[str, list[str]] = {
    "plugins": [
        str(ROOT / "core"),
        str(ROOT / "plugins" / "llm-openai"),
        str(ROOT / "plugins" / "llm-claude"),
        str(ROOT / "plugins" / "llm-gemini"),
    ],
    "openai": ["openai"],
    "anthropic": ["anthropic"],
    "google-genai": ["google-genai"],
    "any-llm": ["any-llm-sdk"],
}
#: Environments built from local sources, reinstalled on every run.
LOCAL_ENVS = {"plugins"}


@dataclass(frozen=True)
class Provider:
    """One plugin and the vendor SDK it stands in for.

    ``*_import`` is the statement timed; ``*_client`` builds a ready client after it
    (what a cold Lambda pays before its first request).
    """

    plugin_import: str
    plugin_client: str
    sdk_env: str
    sdk_import: str
    sdk_client: str


PROVIDERS: dict[str, Provider] = {
    "openai / azure-openai": Provider(
        plugin_import="import tenantkit_llm_openai as p",
        plugin_client="p.OpenAILLM(p.OpenAISettings(api_key='sk-x', model='gpt-4o-mini')).close()",
        sdk_env="openai",
        sdk_import="import openai",
        sdk_client="openai.OpenAI(api_key='sk-x').close()",
    ),
    "claude": Provider(
        plugin_import="import tenantkit_llm_claude as p",
        plugin_client="p.ClaudeLLM(p.ClaudeSettings(api_key='sk-ant-x', model='claude-sonnet-4-5'))"
        ".close()",
        sdk_env="anthropic",
        sdk_import="import anthropic",
        sdk_client="anthropic.Anthropic(api_key='sk-ant-x').close()",
    ),
    "gemini": Provider(
        plugin_import="import tenantkit_llm_gemini as p",
        plugin_client="p.GeminiLLM(p.GeminiSettings(api_key='AIza-x', model='gemini-2.5-flash'))"
        ".close()",
        sdk_env="google-genai",
        sdk_import="import google.genai as genai",
        sdk_client="genai.Client(api_key='AIza-x').close()",
    ),
}

#: Extra reference rows: label → (environment, statement).
REFERENCES: dict[str, tuple[str, str]] = {"any_llm": ("any-llm", "import any_llm")}

_PROBE = """
import time
t0 = time.perf_counter()
{stmt}
print(time.perf_counter() - t0)
"""


def ensure_env(name: str) -> Path:
    """The python of environment ``name``, created and filled when needed."""
    packages = ENVS[name]
    root = VENVS / name
    python = root / "bin" / "python"
    marker = root / ".installed"
    wanted = hashlib.sha256("\n".join([sys.version, *packages]).encode()).hexdigest()
    fresh = python.exists() and marker.exists() and marker.read_text() == wanted
    if fresh and name not in LOCAL_ENVS:
        compile_environment(python)  # venvs made before bytecode was compiled here
        return python
    if not fresh:
        subprocess.run(
            ["uv", "venv", "--quiet", "--clear", "--python", sys.executable, str(root)], check=True
        )
    install = ["uv", "pip", "install", "--quiet", "--python", str(python)]
    if name in LOCAL_ENVS:
        install.append("--reinstall")
    subprocess.run([*install, *packages], check=True)
    compile_environment(python)
    marker.write_text(wanted)
    return python


def time_once(python: Path, stmt: str) -> float:
    out = subprocess.run(
        [str(python), "-c", _PROBE.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        env=child_env(),
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    envs = {name: ensure_env(name) for name in ENVS}

    plugins = envs["plugins"]
    cases: dict[str, tuple[Path, str]] = {
        "pydantic alone (both sides import it)": (plugins, "from pydantic import BaseModel"),
        "tenantkit (core alone)": (plugins, "import tenantkit"),
    }
    for name, p in PROVIDERS.items():
        sdk = envs[p.sdk_env]
        cases[f"{name}: plugin import"] = (plugins, p.plugin_import)
        cases[f"{name}: plugin import + client"] = (
            plugins,
            f"{p.plugin_import}\n{p.plugin_client}",
        )
        cases[f"{name}: SDK import"] = (sdk, p.sdk_import)
        cases[f"{name}: SDK import + client"] = (sdk, f"{p.sdk_import}\n{p.sdk_client}")
    for label, (env, stmt) in REFERENCES.items():
        cases[f"{label}: import"] = (envs[env], stmt)

    for python, stmt in cases.values():  # warm the page cache (bytecode already compiled)
        time_once(python, stmt)
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.runs):
        for label, (python, stmt) in cases.items():
            samples[label].append(time_once(python, stmt))
    median = {label: statistics.median(s) * 1000 for label, s in samples.items()}

    print(f"python {sys.version.split()[0]}, median of {args.runs} fresh interpreters\n")
    print(f"| {'what':<46} | median ms |")
    print(f"|{'-' * 48}|----------:|")
    for label, ms in median.items():
        print(f"| {label:<46} | {ms:9.1f} |")
    print()
    for name in PROVIDERS:
        for step in ("import", "import + client"):
            ours, theirs = median[f"{name}: plugin {step}"], median[f"{name}: SDK {step}"]
            verdict = "meets" if ours <= theirs / 3 else "misses"
            print(f"{name}, {step}: plugin / SDK = {ours / theirs:.2f} ({verdict} the 1/3 target)")
        for ref in REFERENCES:
            ours, theirs = median[f"{name}: plugin import"], median[f"{ref}: import"]
            print(f"{name}, import: plugin / {ref} = {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
