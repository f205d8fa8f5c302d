"""The deployment ``tenantkit serve`` sets up around the functions on one machine.

Everything lives in a state directory (``.tenantkit`` by default):

========================  ==============================================================
``config/``               tenant secrets, ``{tenant}.json`` over ``defaults.json``
                          (unless ``--config-dir`` names another directory)
``data/``                 the demo tenants' sqlite file and storage directory
``control-plane.sqlite3`` the control plane (tenant registry, WebSocket connections,
                          audit log)
``users.sqlite3``         the local user pool (users, roles, sessions)
``signing-key``           the key that signs pagination cursors (mode 0600)
========================  ==============================================================

The functions read their settings from the environment, as on Lambda;
:meth:`LocalDeployment.environment` is what the server sets: the configuration
directory, the control plane, the signing key, the Management API endpoint of the
local WebSocket API, and the authorizer's trust in the local token issuer, whose
keys the server publishes.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from tenantkit.errors import ConfigurationError
from tenantkit_runtime.local.issuer import LocalIssuer

__all__ = ["DEFAULT_STATE_DIR", "LocalDeployment"]

DEFAULT_STATE_DIR = Path(".tenantkit")
_SIGNING_KEY = "signing-key"
_CONTROL_PLANE = "control-plane.sqlite3"
_USERS = "users.sqlite3"
_AWS_AMBIENT = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)


@dataclass(frozen=True)
class LocalDeployment:
    """A deployment on this machine.

    Args:
        state_dir: where the state lives (created, mode 0700).
        config_dir: the tenants' secrets (``state_dir/config`` by default).
        origin: the server's ``http://127.0.0.1:PORT``.
        websocket_path: where the server serves the WebSocket API.
        jwks_path: where the server publishes the issuer's keys.
        issuer: the local token issuer the authorizer trusts.
    """

    state_dir: Path
    config_dir: Path
    origin: str
    websocket_path: str
    jwks_path: str
    issuer: LocalIssuer

    @classmethod
    def prepare(
        cls,
        state_dir: Path,
        *,
        origin: str,
        websocket_path: str,
        jwks_path: str,
        config_dir: Path | None = None,
        issuer: LocalIssuer | None = None,
    ) -> LocalDeployment:
        """Create the state directory; the deployment in it."""
        state = state_dir.resolve()
        try:
            state.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create {state}: {exc.strerror}") from None
        return cls(
            state_dir=state,
            config_dir=(config_dir or state / "config").resolve(),
            origin=origin.rstrip("/"),
            websocket_path=websocket_path,
            jwks_path=jwks_path,
            issuer=issuer or LocalIssuer(),
        )

    @staticmethod
    def reset(state_dir: Path) -> None:
        """Remove what :meth:`prepare` and the demo keep in ``state_dir`` (the control
        plane, the signing key, ``config/`` and ``data/``); nothing else is touched."""
        import shutil

        state = state_dir.resolve()
        for name in ("config", "data"):
            shutil.rmtree(state / name, ignore_errors=True)
        for name in (_CONTROL_PLANE, _SIGNING_KEY):
            for suffix in ("", "-wal", "-shm", "-journal"):
                (state / (name + suffix)).unlink(missing_ok=True)

    @property
    def signing_key(self) -> str:
        """The cursor signing key, created on first use and kept in the state directory."""
        path = self.state_dir / _SIGNING_KEY
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            pass
        key = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another server created it meanwhile
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
        return key

    @property
    def control_plane(self) -> dict[str, str]:
        """The control plane's provider section (sqlite in the state directory)."""
        return {"provider": "sqlite", "path": str(self.state_dir / _CONTROL_PLANE)}

    @property
    def users_path(self) -> Path:
        """The local user pool (:class:`~tenantkit_runtime.local.users.LocalUserStore`)."""
        return self.state_dir / _USERS

    @property
    def websocket_endpoint(self) -> str:
        """The local WebSocket API's Management API endpoint."""
        return self.origin + self.websocket_path

    def environment(self) -> dict[str, str]:
        """The deployment settings the functions read (see the module documentation)."""
        return {
            "TENANTKIT_CONFIG_DIR": str(self.config_dir),
            "TENANTKIT_SIGNING_KEY": self.signing_key,
            "TENANTKIT_CONTROL_PLANE": json.dumps(self.control_plane),
            "TENANTKIT_WEBSOCKET_ENDPOINT": self.websocket_endpoint,
            "TENANTKIT_LOCAL_USERS": str(self.users_path),
            "TENANTKIT_CONSOLE_DOMAIN": "localhost",
            **self.issuer.auth_environment(self.origin + self.jwks_path),
        }

    def apply(self, environ: MutableMapping[str, str] | None = None) -> None:
        """Set :meth:`environment` in ``environ`` (``os.environ``), with what the
        functions' AWS clients need to reach the local endpoints."""
        env = os.environ if environ is None else environ
        env.update(self.environment())
        env.update(_local_aws(env))


def _local_aws(env: Mapping[str, str]) -> dict[str, str]:
    """Settings for the AWS clients that call the server (the Management API).

    Those clients sign their requests, so they need credentials and a region: when the
    environment has none at all, stand-ins are set (they never leave this machine).
    Local addresses bypass any HTTP proxy.
    """
    extra: dict[str, str] = {}
    home = Path.home()
    ambient = any(env.get(name) for name in _AWS_AMBIENT) or (home / ".aws").is_dir()
    if not ambient:
        extra["AWS_ACCESS_KEY_ID"] = "local"
        extra["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - a stand-in for local calls
        extra["AWS_EC2_METADATA_DISABLED"] = "true"
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")) and not ambient:
        extra["AWS_DEFAULT_REGION"] = "us-east-1"
    bypass = [h for h in (env.get("NO_PROXY") or env.get("no_proxy") or "").split(",") if h]
    for host in ("127.0.0.1", "localhost"):
        if host not in bypass:
            bypass.append(host)
    extra["NO_PROXY"] = extra["no_proxy"] = ",".join(bypass)
    return extra
