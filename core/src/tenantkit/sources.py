"""Where tenant secrets come from: AWS Secrets Manager, or a local directory.

A source returns a tenant's raw secret already deep-merged over the defaults, with a
version string that changes whenever either document changes. It does not validate
the provider sections (that needs the plugins); :mod:`tenantkit.cache` does.

* :class:`SecretsManagerSource`: ``{prefix}/tenants/{tenant_id}`` over ``{prefix}/defaults``.
* :class:`DirectorySource`: ``{dir}/{tenant_id}.json`` over ``{dir}/defaults.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from tenantkit.config import merge_secret, parse_secret_text
from tenantkit.errors import (
    AuthenticationError,
    ConfigSourceError,
    ConfigurationError,
    PermissionDenied,
    TenantkitError,
    TenantMismatch,
    TenantNotFound,
)
from tenantkit.identifiers import check_tenant_id

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from tenantkit.aws import ProviderAWS

__all__ = [
    "AWSCURRENT",
    "ConfigDocument",
    "ConfigSource",
    "DirectorySource",
    "SecretsManagerSource",
]

AWSCURRENT = "AWSCURRENT"


@dataclass(frozen=True)
class ConfigDocument:
    """A tenant's merged raw secret, its version and where it came from."""

    tenant_id: str
    raw: dict[str, Any]
    version: str
    source: str

    def __repr__(self) -> str:  # the raw document holds credentials
        return f"ConfigDocument(tenant_id={self.tenant_id!r}, version={self.version!r})"


class ConfigSource(Protocol):
    """Anything that can fetch a tenant's merged secret."""

    def fetch(self, tenant_id: str, *, stage: str = AWSCURRENT) -> ConfigDocument:
        """The merged document. Raises ``TenantNotFound``, ``TenantMismatch``,
        ``SecretValidationError`` (malformed JSON) or ``ConfigSourceError``."""
        ...

    def describe(self) -> str:
        """Where the source reads from, for diagnostics (no credentials)."""
        ...


def _checked(tenant_id: str, raw: dict[str, Any], where: str) -> None:
    declared = raw.get("tenant_id")
    if declared is not None and declared != tenant_id:
        raise TenantMismatch(
            f"{where} is stored under tenant {tenant_id!r} but declares tenant_id "
            f"{declared!r}; refusing it"
        )


def _version(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class DirectorySource:
    """Tenant secrets as JSON files in a directory, for local development and tests."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    @property
    def directory(self) -> Path:
        return self._dir

    def describe(self) -> str:
        return f"directory {self._dir}"

    def fetch(self, tenant_id: str, *, stage: str = AWSCURRENT) -> ConfigDocument:
        check_tenant_id(tenant_id)
        path = self._dir / f"{tenant_id}.json"
        defaults_path = self._dir / "defaults.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not self._dir.is_dir():
                # The operator's mistake, not the tenant's absence (an HTTP caller sees
                # a 503 without the path).
                raise ConfigurationError(
                    f"the configuration directory {self._dir} does not exist"
                ) from None
            # The message reaches callers of the API: it names no server path.
            raise TenantNotFound(f"no configuration for tenant {tenant_id!r}") from None
        except OSError as exc:
            raise ConfigSourceError(f"cannot read {path}: {exc.strerror}") from None
        try:
            defaults_text = defaults_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            defaults_text = "{}"
        except OSError as exc:
            raise ConfigSourceError(f"cannot read {defaults_path}: {exc.strerror}") from None
        raw = parse_secret_text(text, source=str(path))
        _checked(tenant_id, raw, str(path))
        defaults = parse_secret_text(defaults_text, source=str(defaults_path))
        return ConfigDocument(
            tenant_id=tenant_id,
            raw=merge_secret(defaults, raw),
            version=_version(defaults_text, text),
            source=str(path),
        )

    def tenant_ids(self) -> list[str]:
        """The tenants that have a file in the directory."""
        return sorted(p.stem for p in self._dir.glob("*.json") if p.stem != "defaults")

    def read(self, tenant_id: str) -> dict[str, Any]:
        """The tenant's own document, not merged over the defaults (to edit and :meth:`put`)."""
        check_tenant_id(tenant_id)
        path = self._dir / f"{tenant_id}.json"
        text = self._read_text(path)
        if text is None:
            raise TenantNotFound(f"no configuration for tenant {tenant_id!r}")
        return parse_secret_text(text, source=str(path))

    def read_defaults(self) -> dict[str, Any]:
        """The defaults document (``{}`` when there is none)."""
        path = self._dir / "defaults.json"
        text = self._read_text(path)
        return parse_secret_text(text, source=str(path)) if text is not None else {}

    def put(self, tenant_id: str, raw: dict[str, Any]) -> str:
        """Write the tenant's document atomically; returns a version of the new text.

        The caller validates ``raw`` first.
        """
        check_tenant_id(tenant_id)
        path = self._dir / f"{tenant_id}.json"
        _checked(tenant_id, raw, str(path))
        text = json.dumps(raw, indent=2) + "\n"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            os.chmod(tmp, 0o600)
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ConfigSourceError(f"cannot write {path}: {exc.strerror}") from None
        return _version(text)

    def delete(self, tenant_id: str) -> bool:
        """Remove the tenant's document (and the previous one a cut-over kept);
        returns whether there was one."""
        check_tenant_id(tenant_id)
        path = self._dir / f"{tenant_id}.json"
        existed = path.exists()
        for gone in (path, path.with_name(f"{path.name}.previous")):
            try:
                gone.unlink(missing_ok=True)
            except OSError as exc:
                raise ConfigSourceError(f"cannot remove {gone}: {exc.strerror}") from None
        return existed

    @staticmethod
    def _read_text(path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigSourceError(f"cannot read {path}: {exc.strerror}") from None


class SecretsManagerSource:
    """Tenant secrets in AWS Secrets Manager (needs ``pip install 'tenantkit[aws]'``).

    Args:
        prefix: secrets are ``{prefix}/tenants/{tenant_id}`` and ``{prefix}/defaults``.
        client: a boto3 ``secretsmanager`` client; one is made when omitted (through
            :func:`tenantkit.aws.make_client`: one attempt per request, timeouts).
        region, endpoint_url: for the client made when ``client`` is omitted.

    Without boto3 installed, the first fetch raises a :class:`ConfigurationError`
    naming the extra.
    """

    def __init__(
        self,
        prefix: str,
        *,
        client: SecretsManagerClient | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._prefix = prefix.rstrip("/")
        self._client = client
        self._aws: ProviderAWS | None = None
        self._region = region
        self._endpoint_url = endpoint_url
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"Secrets Manager {self._prefix}/"

    def secret_id(self, tenant_id: str) -> str:
        return f"{self._prefix}/tenants/{tenant_id}"

    @property
    def defaults_id(self) -> str:
        return f"{self._prefix}/defaults"

    def client(self) -> SecretsManagerClient:
        return cast("SecretsManagerClient", self._service().client)

    def _service(self) -> ProviderAWS:
        if self._aws is None:
            with self._lock:
                if self._aws is None:
                    from tenantkit.aws import ProviderAWS

                    client = self._client or _make_client(self._region, self._endpoint_url)
                    self._aws = ProviderAWS(_SERVICE, client, refine=_source_error)
        return self._aws

    def fetch(self, tenant_id: str, *, stage: str = AWSCURRENT) -> ConfigDocument:
        check_tenant_id(tenant_id)
        secret_id = self.secret_id(tenant_id)
        tenant = self._get(secret_id, stage)
        if tenant is None:
            raise TenantNotFound(f"no secret {secret_id} (stage {stage})")
        defaults = self._get(self.defaults_id, AWSCURRENT)
        raw = parse_secret_text(tenant[0], source=secret_id)
        _checked(tenant_id, raw, secret_id)
        base = parse_secret_text(defaults[0], source=self.defaults_id) if defaults else {}
        return ConfigDocument(
            tenant_id=tenant_id,
            raw=merge_secret(base, raw),
            version=_version(defaults[1] if defaults else "-", tenant[1]),
            source=secret_id,
        )

    def read(self, tenant_id: str, *, stage: str = AWSCURRENT) -> dict[str, Any]:
        """The tenant's own secret, not merged over the defaults (to edit and :meth:`put`);
        ``stage="AWSPREVIOUS"`` reads the version before the current one."""
        check_tenant_id(tenant_id)
        secret_id = self.secret_id(tenant_id)
        found = self._get(secret_id, stage)
        if found is None:
            raise TenantNotFound(f"no secret {secret_id} (stage {stage})")
        return parse_secret_text(found[0], source=secret_id)

    def read_defaults(self) -> dict[str, Any]:
        """The defaults secret (``{}`` when there is none)."""
        found = self._get(self.defaults_id, AWSCURRENT)
        return parse_secret_text(found[0], source=self.defaults_id) if found else {}

    def put(self, tenant_id: str, raw: dict[str, Any]) -> str:
        """Write a new version of the tenant's secret (creating it if needed).

        Returns the new version id. The caller validates ``raw`` first.
        """
        check_tenant_id(tenant_id)
        secret_id = self.secret_id(tenant_id)
        _checked(tenant_id, raw, secret_id)
        text = json.dumps(raw)
        aws = self._service()
        try:
            answer = aws.call("put_secret_value", SecretId=secret_id, SecretString=text)
        except TenantkitError as exc:
            if exc.code != _NOT_FOUND:
                raise _naming(exc, secret_id) from None
            try:
                answer = aws.call("create_secret", Name=secret_id, SecretString=text)
            except TenantkitError as again:
                raise _naming(again, secret_id) from None
        return str(answer["VersionId"])

    def delete(self, tenant_id: str, *, recovery_days: int = 7) -> bool:
        """Schedule the tenant's secret for deletion after ``recovery_days`` (7 to 30;
        Secrets Manager can restore it until then); returns whether there was one."""
        check_tenant_id(tenant_id)
        secret_id = self.secret_id(tenant_id)
        try:
            self._service().call(
                "delete_secret", SecretId=secret_id, RecoveryWindowInDays=recovery_days
            )
        except TenantkitError as exc:
            if exc.code == _NOT_FOUND:
                return False
            raise _naming(exc, secret_id) from None
        return True

    def scheduled_for_deletion(self, tenant_id: str) -> bool:
        """Whether the tenant's secret is deleted but still recoverable (reading it
        fails until the recovery window ends or ``restore-secret`` brings it back)."""
        secret_id = self.secret_id(check_tenant_id(tenant_id))
        try:
            answer = self._service().call("describe_secret", SecretId=secret_id)
        except TenantkitError as exc:
            if exc.code == _NOT_FOUND:
                return False
            raise _naming(exc, secret_id) from None
        return answer.get("DeletedDate") is not None

    def _get(self, secret_id: str, stage: str) -> tuple[str, str] | None:
        try:
            answer = self._service().call(
                "get_secret_value", SecretId=secret_id, VersionStage=stage
            )
        except TenantkitError as exc:
            if exc.code == _NOT_FOUND:
                return None
            raise _naming(exc, secret_id) from None
        text = answer.get("SecretString")
        if text is None:
            raise ConfigSourceError(f"{secret_id} holds binary data, not a JSON string")
        return text, str(answer.get("VersionId", ""))


_SERVICE = "secretsmanager"
_NOT_FOUND = "ResourceNotFoundException"


def _source_error(error: TenantkitError) -> TenantkitError:
    """Secrets Manager's failures, as the cache understands them: rejected credentials
    and denied access stay what they are; anything else is a :class:`ConfigSourceError`
    (retryable: the cache serves the last good configuration meanwhile)."""
    if isinstance(error, AuthenticationError | PermissionDenied) or error.code == _NOT_FOUND:
        return error
    return ConfigSourceError(
        f"Secrets Manager failed: {error.message}",
        provider=_SERVICE,
        status=error.status,
        code=error.code,
        request_id=error.request_id,
        retry_after=error.retry_after,
    )


def _naming(error: TenantkitError, secret_id: str) -> TenantkitError:
    """The error with the secret it was about named in its message."""
    error.message = f"{secret_id}: {error.message}"
    error.args = (error.message,)
    return error


def _make_client(region: str | None, endpoint_url: str | None) -> SecretsManagerClient:
    # Through tenantkit.aws, so the secrets client and the providers' clients share one
    # session of the function's credentials and one loader of botocore's data: a cold
    # start reads them once. One attempt per request, like every client: the cache's
    # stale-if-error window, not botocore, rides out an outage.
    from tenantkit.aws import make_client

    client = make_client(
        _SERVICE,
        region=region,
        endpoint_url=endpoint_url,
        connect_timeout=3,
        read_timeout=5,
    )
    return cast("SecretsManagerClient", client)
