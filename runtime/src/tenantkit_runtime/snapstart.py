"""Lambda SnapStart: the work done once before the snapshot, and what a restore undoes.

With SnapStart (the template's ``SnapStart`` parameter set to ``PublishedVersions``),
Lambda runs a function's initialization once, when a version is published, snapshots
its memory, and starts each new execution environment from a copy of that snapshot
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). Hooks registered with
``snapshot_restore_py`` (included in Lambda's Python runtimes,
https://docs.aws.amazon.com/lambda/latest/dg/snapstart-runtime-hooks-python.html) run
around it; :func:`register` registers these two when the function is initialized for
SnapStart (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``) and does nothing otherwise:

:func:`before_snapshot`
    Loads the deployment's plugins (every provider of the packaged entry-point index,
    with its settings class) and the deployed functions' modules, and builds the
    validators a request needs (the models the core, the runtime and the plugins
    declare with ``defer_build``, and the routes' body models), so that no restored
    environment spends its first request on them. It opens no connection and reads
    no tenant: what it leaves in memory is the same for every tenant and every copy.
:func:`after_restore`
    Every environment started from the snapshot is a copy of the same memory, so it
    forgets what must not be shared between copies or outlive the snapshot: the
    resolver (tenant configurations kept with their fetch time, provider clients and
    their connection pools), the control-plane store, the Management API clients,
    the authorizer's verifier (signing keys kept with their fetch time), the
    process's AWS session (credentials resolved before the snapshot are not this
    environment's), and the state of :mod:`random` (reseeded from the kernel, or
    every copy would draw the same numbers). :mod:`secrets`, ``uuid.uuid4`` and
    ``os.urandom`` read the kernel on every call and need nothing.

What SnapStart changes for code running here: uniqueness must come from the kernel
after restore, never from state computed during initialization (a random seed, an id
made at import); network connections opened before the snapshot are dead in every
copy; anything cached with a timestamp was cached at snapshot time, possibly long ago.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Prepared", "after_restore", "before_snapshot", "register"]

log = logging.getLogger("tenantkit_runtime.snapstart")

#: The function modules of a deployment (each a handler of the template).
FUNCTIONS = ("auth", "chat", "config", "files", "websocket")


@dataclass
class Prepared:
    """What :func:`before_snapshot` did."""

    providers: list[str] = field(default_factory=list)
    """``kind/name`` of every provider loaded"""
    validators: int = 0
    """pydantic models whose validator was built"""
    failed: list[str] = field(default_factory=list)
    """what could not be prepared (it is then built on first use, as without SnapStart)"""


def register(environ: Mapping[str, str] | None = None) -> bool:
    """Register the hooks if this is a SnapStart initialization; whether it was."""
    env = os.environ if environ is None else environ
    if env.get("AWS_LAMBDA_INITIALIZATION_TYPE") != "snap-start":
        return False
    try:
        hooks = importlib.import_module("snapshot_restore_py")
    except ImportError:  # only Lambda's Python runtimes ship it
        log.warning("SnapStart initialization without snapshot_restore_py: no hooks")
        return False
    hooks.register_before_snapshot(before_snapshot)
    hooks.register_after_restore(after_restore)
    return True


def before_snapshot(functions: Iterable[str] = FUNCTIONS) -> Prepared:
    """Load the plugins and function modules; build the validators a request needs."""
    from tenantkit.plugins import default_plugins
    from tenantkit.registry import KINDS

    prepared = Prepared()
    plugins = default_plugins()
    for kind in KINDS:
        for ref in plugins.index.all(kind):
            try:
                plugins.get(kind, ref.name)
            except Exception as exc:  # a broken plugin fails its tenants later, as usual
                prepared.failed.append(f"{kind}/{ref.name}: {type(exc).__name__}")
            else:
                prepared.providers.append(f"{kind}/{ref.name}")
    for name in functions:
        module = importlib.import_module(f"tenantkit_runtime.functions.{name}")
        app = getattr(module, "app", None)
        if app is not None:
            app.body_models()  # imports the modules of bodies given as functions
    prepared.validators = _build_validators(prepared.failed)
    from tenantkit_runtime import coldgc

    coldgc.resume()  # what initialization built is frozen into the snapshot
    log.info(
        "before snapshot: %d providers, %d validators",
        len(prepared.providers),
        prepared.validators,
    )
    return prepared


def after_restore() -> None:
    """Forget what one copy of the snapshot must not share with the others."""
    import random

    from tenantkit import aws
    from tenantkit_runtime import deployment, push
    from tenantkit_runtime.functions import auth

    deployment.reset()
    push.forget_clients()
    auth.forget_verifier()
    aws.forget_sessions()
    random.seed()  # from os.urandom: this copy's own sequence


def _build_validators(failed: list[str]) -> int:
    """Build every deferred pydantic model of tenantkit's modules and its plugins'."""
    from pydantic import BaseModel

    built = 0
    for model in _subclasses(BaseModel):
        if not model.__module__.startswith("tenantkit") or model.__pydantic_complete__:
            continue
        if model.__pydantic_generic_metadata__["parameters"]:
            continue  # a generic model is built for each parametrization
        try:
            model.model_rebuild()
        except Exception as exc:
            failed.append(f"{model.__module__}.{model.__qualname__}: {type(exc).__name__}")
        else:
            built += 1
    return built


def _subclasses(cls: type[Any]) -> list[type[Any]]:
    found: list[type[Any]] = []
    pending = list(cls.__subclasses__())
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.__subclasses__())
    return found
