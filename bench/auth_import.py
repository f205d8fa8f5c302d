"""The authorizer's cold-start cost: fresh interpreters, side by side in one run.

    uv run python bench/auth_import.py [--runs 21]

Each variant runs in a new interpreter; the figure is the median wall time of the
whole process minus the median of a bare interpreter (``pass``). The last variant
imports the authorizer and answers one HTTP API event with a locally issued token
(PyJWT and cryptography load there), the issuer's keys preloaded.

The children import bytecode, as a deployed package ships it: the environment is
compiled first (``compileall``), ``PYTHONDONTWRITEBYTECODE`` is dropped from their
environment, and every variant runs once untimed before the interleaved runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

from _bytecode import child_env, compile_environment

# Import the authorizer and answer one HTTP API event: the token and the issuer's
# keys are made by the parent, the keys preloaded (no network), as on a warm JWKS.
_FIRST_ANSWER = """
import json, sys
from tenantkit_runtime.functions import auth
from tenantkit_runtime.auth import AuthSettings, JwksCache, TokenVerifier
token, issuer, client_id, jwks = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
settings = AuthSettings(issuers={issuer}, client_ids={client_id})
cache = JwksCache()
cache.add(settings.jwks_url(issuer), jwks)
event = {"version": "2.0", "type": "REQUEST", "routeArn": "arn:x", "identitySource": [],
         "headers": {"authorization": "Bearer " + token}}
assert auth.authorize(event, TokenVerifier(settings, jwks=cache))["isAuthorized"]
"""

VARIANTS = {
    "bare interpreter": "pass",
    "import tenantkit_runtime.functions.auth": "import tenantkit_runtime.functions.auth",
    "import tenantkit (the core package, lazy)": "import tenantkit",
    "import ...functions.auth after every public core module (the core's eager init)": (
        "import tenantkit.config, tenantkit.db, tenantkit.llm, tenantkit.resolver, "
        "tenantkit.scoped, tenantkit.sources, tenantkit.storage; "
        "import tenantkit_runtime.functions.auth"
    ),
    "import jwt + cryptography RSA (loaded on first verification)": (
        "import jwt; from cryptography.hazmat.primitives.asymmetric import rsa"
    ),
}


def _time(code: str, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env=child_env(),
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    from tenantkit_runtime.local.issuer import LocalIssuer

    with tempfile.TemporaryDirectory() as key_dir:
        issuer = LocalIssuer(key_dir)
        token = issuer.issue(tenant="acme", user="alice", roles=["admin"])
        args = (token, issuer.issuer, issuer.client_id, json.dumps(issuer.jwks()))
        variants: dict[str, tuple[str, tuple[str, ...]]] = {
            label: (code, ()) for label, code in VARIANTS.items()
        }
        variants["import + first answer (JWKS preloaded)"] = (_FIRST_ANSWER, args)
        samples: dict[str, list[float]] = {label: [] for label in variants}
        labels = list(variants)
        compile_environment()
        for code, extra in variants.values():  # warm-up: page cache
            _time(code, *extra)
        for run in range(runs):  # interleaved, rotating order: load spikes hit all alike
            for label in labels[run % len(labels) :] + labels[: run % len(labels)]:
                code, extra = variants[label]
                samples[label].append(_time(code, *extra))
    bare = statistics.median(samples["bare interpreter"])
    print(f"runs per variant: {runs}; bare interpreter {bare * 1000:.1f} ms (median)")
    for label in labels[1:]:
        cost = statistics.median(samples[label]) - bare
        print(f"{label:82s} {cost * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
