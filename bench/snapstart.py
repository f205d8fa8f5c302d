"""SnapStart: the initialization work the before-snapshot hook takes off a cold start.

The request of ``bench/cold_start.py`` (``POST /conversations/{id}/messages``, tenant
on sqlite + echo + local, or with ``--aws`` on dynamodb + claude + s3 against moto and
a local Messages API), answered four ways:

* ``cold``: a fresh interpreter imports the chat function and answers (a cold start
  without SnapStart; as in ``bench/cold_start.py``).
* ``restored``: an interpreter imports the chat function and runs
  :func:`tenantkit_runtime.snapstart.before_snapshot` (the snapshot), then forks; the
  child, a copy of that memory as a restored environment is, runs
  :func:`~tenantkit_runtime.snapstart.after_restore` and answers. Timed in the child.
* ``restored, no hook``: the same without ``before_snapshot``: what a snapshot of the
  imports alone leaves to the first request (plugin loading, validator builds).
* ``snapshot init``: the CPU of the parent's import and ``before_snapshot``, the work
  SnapStart does once per published version instead of on every cold start.

CPU is the answering process's user + system time (``getrusage``; a forked child's
starts at zero), medians over ``--runs``, programs interleaved, bytecode compiled
first as in ``bench/cold_start.py``.

Run::

    uv run python bench/snapstart.py [--runs 9] [--aws]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _bytecode import child_env, compile_environment

_PARENT = """
import json, os, resource, sys, time
EVENT = json.loads(os.environ["BENCH_EVENT"])

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000

from tenantkit_runtime.functions.chat import handler
from tenantkit_runtime import snapstart
if os.environ["BENCH_HOOK"] == "1":
    snapstart.before_snapshot()
init = cpu()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read)
    started, begun = time.perf_counter(), cpu()
    if os.environ["BENCH_HOOK"] == "1":
        snapstart.after_restore()
    restore = cpu() - begun
    answer = handler(EVENT, None)
    assert answer["statusCode"] == 201, answer
    os.write(write, json.dumps({
        "cpu": cpu(), "restore": restore, "wall": (time.perf_counter() - started) * 1000,
    }).encode())
    os._exit(0)
os.close(write)
child = json.loads(os.read(read, 4096))
os.waitpid(pid, 0)
print("RESULT", json.dumps({"init": init, **child}), flush=True)
"""


def _restored(env: dict[str, str], hook: bool) -> dict[str, float]:
    clean = {k: v for k, v in child_env().items() if not k.startswith(("TENANTKIT_", "BENCH_"))}
    result = subprocess.run(
        [sys.executable, "-c", _PARENT],
        env={**clean, **env, "BENCH_HOOK": "1" if hook else "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"the program failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(lines[-1].split(" ", 1)[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--aws", action="store_true", help="dynamodb + claude + s3 tenant")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parents[1]))
    import cold_start

    compile_environment()
    print(f"load average before: {os.getloadavg()[0]:.2f}, runs: {args.runs}")
    case = cold_start.aws if args.aws else cold_start.embedded
    with tempfile.TemporaryDirectory() as tmp, case(Path(tmp)) as programs:
        body, env = programs["runtime"]
        cold_start._run(body, env)
        _restored(env, True)
        samples: dict[str, list[dict[str, float]]] = {"cold": [], "hook": [], "no hook": []}
        for _ in range(args.runs):
            wall, cpu = cold_start._run(body, env)
            samples["cold"].append({"cpu": cpu, "wall": wall})
            samples["hook"].append(_restored(env, True))
            samples["no hook"].append(_restored(env, False))

    def median(name: str, key: str) -> float:
        return round(statistics.median(s[key] for s in samples[name]), 1)

    cold = median("cold", "cpu")
    print(f"\n{'aws' if args.aws else 'embedded'}:")
    print(
        f"  cold start (no SnapStart)   cpu {cold:7.1f} ms   wall {median('cold', 'wall'):7.1f} ms"
    )
    for name, label in (("hook", "restored"), ("no hook", "restored, no hook")):
        cpu = median(name, "cpu")
        wall, restore = median(name, "wall"), median(name, "restore")
        print(
            f"  {label:26}  cpu {cpu:7.1f} ms ({cpu / cold:.2f}x)   "
            f"wall {wall:7.1f} ms   after_restore cpu {restore:5.1f} ms"
        )
    print(
        f"  snapshot init (import + before_snapshot)   cpu {median('hook', 'init'):7.1f} ms; "
        f"import only {median('no hook', 'init'):7.1f} ms"
    )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
