"""Cold-start cost of the ``cosmos`` plugin (core and httpx included) beside ``azure-cosmos``.

The method of ``bench/llm_import_cost.py`` (its environments and timing helpers are
reused): each candidate installed alone into a throwaway venv under ``bench/.venvs/``,
compiled to bytecode, timed inside fresh interpreters (interpreter start-up left out),
runs interleaved.

    uv run python bench/cosmos_import_cost.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import llm_import_cost as common

common.ENVS["cosmos-plugin"] = [
    str(common.ROOT / "core"),
    str(common.ROOT / "plugins" / "db-cosmos"),
]
common.ENVS["azure-cosmos"] = ["azure-cosmos"]
common.ENVS["azure-cosmos-with-core"] = [str(common.ROOT / "core"), "azure-cosmos"]
common.LOCAL_ENVS.update({"cosmos-plugin", "azure-cosmos-with-core"})

_SETTINGS = (
    "s = p.CosmosSettings(endpoint='https://acct.documents.azure.com', database='app', "
    "container='tenants', key='a2V5' * 22)"
)
CASES: dict[str, tuple[str, str]] = {
    "tenantkit (core alone)": ("cosmos-plugin", "import tenantkit"),
    "plugin: `import tenantkit_db_cosmos` (registration, provider module included)": (
        "cosmos-plugin",
        "import tenantkit_db_cosmos",
    ),
    "plugin: provider module + instance": (
        "cosmos-plugin",
        "import tenantkit_db_cosmos as p\nfrom tenantkit import ProviderContext\n"
        f"{_SETTINGS}\n"
        "p.CosmosDatabase(s, ProviderContext(tenant_id='t', provider='cosmos')).close()",
    ),
    "`tenantkit.resolver` (what a process serving tenants loads anyway)": (
        "cosmos-plugin",
        "import tenantkit.resolver",
    ),
    "`tenantkit.resolver` + plugin provider module + instance": (
        "cosmos-plugin",
        "import tenantkit.resolver\nimport tenantkit_db_cosmos as p\n"
        "from tenantkit import ProviderContext\n"
        f"{_SETTINGS}\n"
        "p.CosmosDatabase(s, ProviderContext(tenant_id='t', provider='cosmos')).close()",
    ),
    "`tenantkit.resolver` + `from azure.cosmos import CosmosClient`": (
        "azure-cosmos-with-core",
        "import tenantkit.resolver\nfrom azure.cosmos import CosmosClient",
    ),
    "SDK: `import azure.cosmos`": ("azure-cosmos", "import azure.cosmos"),
    "SDK: `from azure.cosmos import CosmosClient`": (
        "azure-cosmos",
        "from azure.cosmos import CosmosClient",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    envs = {
        name: common.ensure_env(name)
        for name in ("cosmos-plugin", "azure-cosmos", "azure-cosmos-with-core")
    }
    for env, stmt in CASES.values():  # warm the page cache
        common.time_once(envs[env], stmt)
    samples: dict[str, list[float]] = {label: [] for label in CASES}
    for _ in range(args.runs):
        for label, (env, stmt) in CASES.items():
            samples[label].append(common.time_once(envs[env], stmt))
    print(f"python {sys.version.split()[0]}, median of {args.runs} fresh interpreters\n")
    print("| what | median ms |\n|---|---:|")
    for label, values in samples.items():
        print(f"| {label} | {statistics.median(values) * 1000:.1f} |")


if __name__ == "__main__":
    main()
