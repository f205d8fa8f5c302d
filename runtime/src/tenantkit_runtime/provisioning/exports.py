"""Where the operator API keeps the export a tenant delete makes first.

``TENANTKIT_OPERATOR_EXPORT`` names it:

* a directory: each delete exports into a new ``TENANT-deleted-TIMESTAMP`` folder in
  it (the format of :mod:`tenantkit.lifecycle.archive`);
* ``s3://BUCKET`` or ``s3://BUCKET/PREFIX``: the export is written to a temporary
  directory (Lambda's ``/tmp``, sized by the function's ephemeral storage), then each
  of its files is uploaded under ``PREFIX/TENANT-deleted-TIMESTAMP/`` before anything
  of the tenant is removed, and the temporary copy is dropped.
  ``TENANTKIT_OPERATOR_EXPORT_ENDPOINT_URL`` points the S3 client at a stand-in.

Without the setting, :func:`export_location` raises :class:`ExportNotConfigured`
(503): the operator API never deletes a tenant it could not export.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenantkit.errors import ConfigurationError
from tenantkit.lifecycle.archive import Summary

__all__ = ["ExportLocation", "ExportNotConfigured", "export_location"]

_SETTING = "TENANTKIT_OPERATOR_EXPORT"


class ExportNotConfigured(ConfigurationError):
    """No export location is configured, so no tenant can be deleted (HTTP 503, the
    message shown: it names a setting, nothing secret)."""

    kind = "export_not_configured"
    public_message = True


@dataclass(frozen=True)
class ExportLocation:
    """A directory (``bucket`` ``None``) or an S3 bucket and key prefix."""

    directory: Path | None = None
    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None

    def describe(self) -> str:
        if self.bucket is not None:
            return f"s3://{self.bucket}/{self.prefix}"
        return str(self.directory)

    def new_export(self, tenant_id: str) -> tuple[Path, str]:
        """A new, empty local directory to export ``tenant_id`` into, and the name of
        the export (``TENANT-deleted-TIMESTAMP``)."""
        name = f"{tenant_id}-deleted-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            return self.directory / name, name
        return Path(tempfile.mkdtemp(prefix="tenantkit-export-")) / name, name

    def keep(self, local: Path, name: str, summary: Summary) -> str:
        """Put the finished export where it belongs; returns where it is now."""
        if self.bucket is None:
            return str(local)
        client = _s3(self.endpoint_url)
        base = f"{self.prefix}{name}/"
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            with path.open("rb") as body:  # streamed; one PUT takes up to 5 GB
                client.call(
                    "put_object",
                    Bucket=self.bucket,
                    Key=base + path.relative_to(local).as_posix(),
                    Body=body,
                )
        return f"s3://{self.bucket}/{base}"

    def discard(self, local: Path) -> None:
        """Drop the local copy of an export uploaded to S3 (a directory export stays)."""
        if self.bucket is not None:
            shutil.rmtree(local.parent, ignore_errors=True)


def export_location(environ: Mapping[str, str] | None = None) -> ExportLocation:
    """The configured export location.

    Raises:
        ExportNotConfigured: ``TENANTKIT_OPERATOR_EXPORT`` is not set.
        ConfigurationError: it is set to an S3 URL without a bucket.
    """
    env = os.environ if environ is None else environ
    text = (env.get(_SETTING) or "").strip()
    if not text:
        raise ExportNotConfigured(
            f"no export location is configured: set {_SETTING} to a directory or an "
            "s3://bucket/prefix; a tenant is never deleted without an export"
        )
    if text.startswith("s3://"):
        bucket, _, prefix = text[5:].partition("/")
        if not bucket:
            raise ConfigurationError(f"{_SETTING} names no bucket: s3://BUCKET[/PREFIX]")
        prefix = prefix.strip("/")
        return ExportLocation(
            bucket=bucket,
            prefix=f"{prefix}/" if prefix else "",
            endpoint_url=env.get(f"{_SETTING}_ENDPOINT_URL") or None,
        )
    return ExportLocation(directory=Path(text))


def _s3(endpoint_url: str | None) -> Any:
    from tenantkit.aws import ProviderAWS, make_client

    return ProviderAWS(
        "s3",
        make_client("s3", region=None, endpoint_url=endpoint_url, read_timeout=60),
    )
