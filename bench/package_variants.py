"""``tenantkit package`` with and without ``--use-runtime-boto3``: sizes and cold starts.

Builds the dynamodb + claude + s3 artifact twice for this interpreter's Python (so
that it runs here), unpacks each, and times a fresh interpreter that starts from the
artifact alone (``-S -s -P``, ``PYTHONPATH`` the unpacked folder) and does what a
cold chat function does before its first network call: import the chat function and
the three providers' modules and make a DynamoDB client through ``tenantkit.aws``
(which loads botocore's data files). With ``--use-runtime-boto3`` the folder lacks
boto3 and botocore, and the interpreter finds them after the artifact on its path,
as a Lambda function finds the runtime's own in ``/var/runtime``: here the workspace's
site-packages stand in for it (compiled first, as the runtime's are).

CPU (user + system) of the child at the end, medians over ``--runs``, interleaved.

Run::

    uv run python bench/package_variants.py [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

from _bytecode import compile_environment

_CHILD = """
import resource
from tenantkit_runtime.functions.chat import handler
import tenantkit_db_dynamodb.database, tenantkit_llm_claude.provider, tenantkit_store_s3.store
from tenantkit.aws import make_client
make_client("dynamodb", region="us-east-1", endpoint_url="http://127.0.0.1:9",
            connect_timeout=1, read_timeout=1)
import botocore
usage = resource.getrusage(resource.RUSAGE_SELF)
print((usage.ru_utime + usage.ru_stime) * 1000, botocore.__file__)
"""


def _run(path: str) -> tuple[float, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": path,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "TENANTKIT_CACHE_DIR": tempfile.gettempdir(),
    }
    result = subprocess.run(
        [sys.executable, "-P", "-S", "-s", "-c", _CHILD],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    cpu, where = result.stdout.split()
    return float(cpu), where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    from tenantkit_runtime.package import build_package

    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    compile_environment()
    runtime_dir = sysconfig.get_paths()["purelib"]
    print(f"load average before: {os.getloadavg()[0]:.2f}, runs: {args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        paths: dict[str, str] = {}
        sizes: dict[str, int] = {}
        for name, lean in (("bundled boto3", False), ("runtime's boto3", True)):
            out = Path(tmp) / f"{lean}.zip"
            report = build_package(
                db="dynamodb",
                llm="claude",
                storage="s3",
                out=out,
                python=here,
                use_runtime_boto3=lean,
            )
            folder = Path(tmp) / f"{lean}"
            with zipfile.ZipFile(out) as archive:
                archive.extractall(folder)
            sizes[name] = report.size
            paths[name] = f"{folder}{os.pathsep}{runtime_dir}" if lean else str(folder)
        for path in paths.values():
            _run(path)
        samples: dict[str, list[float]] = {name: [] for name in paths}
        where: dict[str, str] = {}
        for _ in range(args.runs):
            for name, path in paths.items():
                cpu, where[name] = _run(path)
                samples[name].append(cpu)
    for name in paths:
        unpacked = "artifact" if where[name].startswith(tmp) else "runtime stand-in"
        print(
            f"  {name:16} zip {sizes[name] / 1e6:5.1f} MB   cold import + client cpu "
            f"{statistics.median(samples[name]):6.1f} ms   (botocore from the {unpacked})"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
