"""Deployment settings, read from the environment once per process.

=================================  ===================================================
``TENANTKIT_CONFIG_DIR``,          where tenant secrets come from: read by the core's
``TENANTKIT_SECRETS_PREFIX``,      :meth:`tenantkit.Resolver.from_env`, which builds
``TENANTKIT_SECRETS_ENDPOINT_URL`` the deployment's resolver
``TENANTKIT_SIGNING_KEY``          signs pagination cursors; the same in every function
``TENANTKIT_CONTROL_PLANE``        the control-plane store, a JSON provider section
                                   (required by the functions that use it):
                                   ``{"provider": "sqlite", "path": "var/cp.db"}`` or
                                   ``{"provider": "dynamodb", "table": "...", "region": "..."}``
``TENANTKIT_WEBSOCKET_ENDPOINT``   the API Gateway Management API endpoint, instead of
                                   the one derived from the event (local use)
``TENANTKIT_CORS_ORIGINS``         comma-separated origins allowed to call the HTTP API
                                   from a browser (``*`` for any); none by default
``TENANTKIT_ADMIN_ROLE``           the role that administers a tenant (``admin``)
``TENANTKIT_CONSOLE_DOMAIN``       the web console's domain: tenant ``acme``'s console
                                   is ``acme.<domain>`` (``app.example.com``; ``tenantkit
                                   serve`` uses ``localhost``); none by default
``TENANTKIT_LIMITS_ON_OUTAGE``     ``open`` (default): when the control plane cannot be
                                   reached, requests are served unlimited and
                                   unmetered (logged); ``closed``: refused with 503
``TENANTKIT_LOG_LEVEL``            ``DEBUG``, ``INFO`` (default), ``WARNING``...
``TENANTKIT_MODEL_ALIASES``        comma-separated model names the OpenAI-compatible
                                   routes accept as meaning the tenant's own model
                                   (``gpt-4o,gpt-4o-mini``); none by default
``TENANTKIT_OPERATOR_EXPORT``      where the operator API's ``DELETE
                                   /operator/tenants/{id}`` writes the export it makes
                                   first: a directory, or ``s3://BUCKET[/PREFIX]``;
                                   unset, deletes are refused (503)
=================================  ===================================================
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tenantkit.errors import ConfigurationError

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """What a deployment tells the runtime (see the module documentation)."""

    signing_key: str | None = field(default=None, repr=False)
    control_plane: Mapping[str, Any] | None = None
    websocket_endpoint: str | None = None
    cors_origins: tuple[str, ...] = ()
    admin_role: str = "admin"
    log_level: str = "INFO"
    limits_fail_open: bool = True
    model_aliases: tuple[str, ...] = ()
    console_domain: str | None = None
    operator_export: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            signing_key=env.get("TENANTKIT_SIGNING_KEY") or None,
            control_plane=_control_plane(env.get("TENANTKIT_CONTROL_PLANE")),
            websocket_endpoint=env.get("TENANTKIT_WEBSOCKET_ENDPOINT") or None,
            cors_origins=tuple(
                o.strip() for o in env.get("TENANTKIT_CORS_ORIGINS", "").split(",") if o.strip()
            ),
            admin_role=env.get("TENANTKIT_ADMIN_ROLE") or "admin",
            log_level=(env.get("TENANTKIT_LOG_LEVEL") or "INFO").upper(),
            limits_fail_open=_outage_policy(env.get("TENANTKIT_LIMITS_ON_OUTAGE")),
            model_aliases=tuple(
                a.strip() for a in env.get("TENANTKIT_MODEL_ALIASES", "").split(",") if a.strip()
            ),
            console_domain=(env.get("TENANTKIT_CONSOLE_DOMAIN") or "").strip().lower().strip(".")
            or None,
            operator_export=env.get("TENANTKIT_OPERATOR_EXPORT") or None,
        )


def _outage_policy(text: str | None) -> bool:
    value = (text or "open").strip().lower()
    if value not in ("open", "closed"):
        raise ConfigurationError("TENANTKIT_LIMITS_ON_OUTAGE must be 'open' or 'closed'")
    return value == "open"


def _control_plane(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        section = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"TENANTKIT_CONTROL_PLANE is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(section, dict) or not isinstance(section.get("provider"), str):
        raise ConfigurationError(
            'TENANTKIT_CONTROL_PLANE must be a JSON object with a "provider" name'
        )
    return section
