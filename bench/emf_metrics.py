"""EMF metrics: AWS Lambda Powertools' ``Metrics`` beside the runtime's own writer.

Both write the same metrics of one invocation as CloudWatch Embedded Metric Format
lines: eight request metrics with dimensions (function, tenant) and five LLM metrics
with (function, tenant, provider), then flush. Two figures, side by side in one run:

* import cost: the median, over fresh interpreters, of ``from aws_lambda_powertools
  import Metrics`` (and its unit enum) against ``import tenantkit_runtime.metrics``;
  interpreter start-up is left out;
* per-invocation and per-metric cost on a warm process: the median over batches of
  the time to record the thirteen metrics and flush (lines go to a null writer), and
  of the time of one recorded metric without the flush.

Both run in one throwaway venv under ``bench/.venvs/emf`` holding
``aws-lambda-powertools`` alone (installed with ``uv`` on this Python, compiled to
bytecode); the runtime's module is taken from the source tree (it imports only the
standard library). Powertools is a dependency of this benchmark only.

    uv run python bench/emf_metrics.py [--runs 15]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _bytecode import child_env, compile_environment

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venvs" / "emf"
PACKAGES = ["aws-lambda-powertools==3.37.0"]

_IMPORT_PROBE = """
import time
t0 = time.perf_counter()
{stmt}
print(time.perf_counter() - t0)
"""

IMPORTS = {
    "powertools Metrics": (
        "from aws_lambda_powertools import Metrics\n"
        "from aws_lambda_powertools.metrics import MetricUnit"
    ),
    "tenantkit_runtime.metrics": "import tenantkit_runtime.metrics",
    # The standard library both need and the runtime has loaded long before (pydantic).
    "json + typing + contextlib": "import json, typing, contextlib",
}

# One process times both writers, interleaved batch by batch.
_WARM = r"""
import json, statistics, sys, time, warnings
from contextlib import redirect_stdout
from aws_lambda_powertools.metrics import EphemeralMetrics, Metrics, MetricUnit
from tenantkit_runtime import metrics as ours

warnings.simplefilter("ignore")

class Null:
    def __init__(self):
        self.lines = 0
    def write(self, text):
        self.lines += text.count("\n")
        return len(text)
    def flush(self):
        pass

null = Null()
REQUEST = [("Requests", 1, "Count"), ("Latency", 12.5, "Milliseconds"),
           ("ColdStart", 0, "Count"), ("CallerErrors", 0, "Count"),
           ("ProviderErrors", 0, "Count"), ("ConfigurationErrors", 0, "Count"),
           ("InternalErrors", 0, "Count"), ("Throttles", 0, "Count")]
LLM = [("LLMCalls", 1, "Count"), ("LLMErrors", 0, "Count"),
       ("LLMLatency", 830.0, "Milliseconds"), ("LLMInputTokens", 412, "Count"),
       ("LLMOutputTokens", 96, "Count")]
UNITS = {"Count": MetricUnit.Count, "Milliseconds": MetricUnit.Milliseconds}

request_metrics = Metrics(namespace="tenantkit", service="chat")
llm_metrics = EphemeralMetrics(namespace="tenantkit", service="chat")

def powertools_invocation():
    request_metrics.add_dimension(name="function", value="chat")
    request_metrics.add_dimension(name="tenant", value="acme")
    for name, value, unit in REQUEST:
        request_metrics.add_metric(name=name, unit=UNITS[unit], value=value)
    llm_metrics.add_dimension(name="function", value="chat")
    llm_metrics.add_dimension(name="tenant", value="acme")
    llm_metrics.add_dimension(name="provider", value="openai")
    for name, value, unit in LLM:
        llm_metrics.add_metric(name=name, unit=UNITS[unit], value=value)
    with redirect_stdout(null):
        request_metrics.flush_metrics()
        llm_metrics.flush_metrics()

def ours_invocation():
    inv = ours.Invocation("chat", tenant="acme", write=null.write)
    for name, value, unit in REQUEST:
        inv.request(name, value, unit)
    dims = {"function": "chat", "tenant": "acme", "provider": "openai"}
    for name, value, unit in LLM:
        inv.add(name, value, unit, dimensions=dims, dimension_sets=ours.LLM_DIMENSIONS)
    inv.flush()

def powertools_metric():
    request_metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=12.5)

ours_inv = ours.Invocation("chat", tenant="acme", write=null.write)
def ours_metric():
    ours_inv.request("Latency", 12.5, "Milliseconds")

def batch(fn, n, reset=None):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    elapsed = time.perf_counter() - t0
    if reset:
        reset()
    return elapsed / n

def reset_powertools():
    request_metrics.clear_metrics()

def reset_ours():
    ours_inv._series.clear()

# Sanity: each writer produces lines, and ours are EMF documents.
for fn in (powertools_invocation, ours_invocation):
    before = null.lines
    fn()
    assert null.lines > before, fn
check = ours.Invocation("chat", tenant="acme", write=lambda s: None)
check.request("Requests", 1)
assert "_aws" in json.loads(check.lines()[0])

runs = int(sys.argv[1])
samples = {k: [] for k in ("pt_inv", "our_inv", "pt_metric", "our_metric")}
for _ in range(runs):
    samples["pt_inv"].append(batch(powertools_invocation, 500))
    samples["our_inv"].append(batch(ours_invocation, 500))
    samples["pt_metric"].append(batch(powertools_metric, 90, reset_powertools))
    samples["our_metric"].append(batch(ours_metric, 90, reset_ours))
print(json.dumps({k: statistics.median(v) * 1e6 for k, v in samples.items()}))
"""


def ensure_env() -> Path:
    python = VENV / "bin" / "python"
    marker = VENV / ".installed"
    wanted = hashlib.sha256("\n".join([sys.version, *PACKAGES]).encode()).hexdigest()
    if not (python.exists() and marker.exists() and marker.read_text() == wanted):
        subprocess.run(
            ["uv", "venv", "--quiet", "--clear", "--python", sys.executable, str(VENV)], check=True
        )
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(python), *PACKAGES], check=True
        )
        marker.write_text(wanted)
    compile_environment(python)
    return python


def _env() -> dict[str, str]:
    env = child_env()
    env["PYTHONPATH"] = str(ROOT / "runtime" / "src")
    env["AWS_LAMBDA_FUNCTION_NAME"] = "bench"  # Powertools writes metrics only on Lambda
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    return env


def time_import(python: Path, stmt: str) -> float:
    out = subprocess.run(
        [str(python), "-c", _IMPORT_PROBE.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    python = ensure_env()
    compile_environment(python)  # the runtime's sources too (they are on PYTHONPATH)
    subprocess.run(
        [str(python), "-m", "compileall", "-q", str(ROOT / "runtime" / "src")],
        check=True,
        env=_env(),
    )

    for stmt in IMPORTS.values():  # warm the page cache
        time_import(python, stmt)
    imports: dict[str, list[float]] = {label: [] for label in IMPORTS}
    for _ in range(args.runs):
        for label, stmt in IMPORTS.items():
            imports[label].append(time_import(python, stmt))
    import_ms = {label: statistics.median(s) * 1000 for label, s in imports.items()}

    warm = subprocess.run(
        [str(python), "-c", _WARM, str(args.runs)],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    us = json.loads(warm.stdout.strip().splitlines()[-1])

    print(f"python {sys.version.split()[0]}, {PACKAGES[0]}, {os.cpu_count()} cores\n")
    print("| what | Powertools Metrics | tenantkit_runtime.metrics | ratio |")
    print("|---|---:|---:|---:|")
    pt, ours = import_ms["powertools Metrics"], import_ms["tenantkit_runtime.metrics"]
    print(
        f"| import, median of {args.runs} fresh interpreters | {pt:.1f} ms | {ours:.2f} ms "
        f"| {pt / ours:.0f}x |"
    )
    base = import_ms["json + typing + contextlib"]
    print(
        f"| import beyond json + typing + contextlib ({base:.1f} ms) | {pt - base:.1f} ms "
        f"| {ours - base:.2f} ms | {(pt - base) / max(ours - base, 0.01):.0f}x |"
    )
    print(
        f"| one invocation: 13 metrics + flush | {us['pt_inv']:.1f} µs | {us['our_inv']:.1f} µs "
        f"| {us['pt_inv'] / us['our_inv']:.1f}x |"
    )
    print(
        f"| one metric recorded | {us['pt_metric']:.2f} µs | {us['our_metric']:.2f} µs "
        f"| {us['pt_metric'] / us['our_metric']:.1f}x |"
    )


if __name__ == "__main__":
    main()
