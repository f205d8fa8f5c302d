"""``tenantkit console publish --stack STACK``: put the built web console on the CDN.

The deployment's stack (``runtime/deploy/template.yaml`` with ``ConsoleDomain`` set)
holds the console's bucket, behind CloudFront. Publishing reads the stack's outputs,
uploads the build and writes ``console.json`` next to it:

* ``assets/*`` (file names carry a hash of their content):
  ``cache-control: public, max-age=31536000, immutable``;
* every other file, ``index.html`` last (once the assets it names are there), and
  ``console.json``: ``no-cache``, so a new build is seen at once;
* ``console.json``: the HTTP API (``HttpApiUrl``), the WebSocket API
  (``WebSocketUrl``), the Cognito Hosted UI's endpoints on ``--auth-domain``
  (``https://<prefix>.auth.<region>.amazoncognito.com`` or the pool's custom domain;
  default the stack's ``UserPoolDomainUrl``) with the app client (``--client-id``,
  else the stack's ``UserPoolClientId``), and the one callback and sign-out address
  every tenant's console uses, on the console domain (``ConsoleDomain``):
  ``https://<console domain>/callback`` and ``/signed-out``.

Assets of earlier builds are left in place: a browser still running an older
``index.html`` keeps finding its files.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenantkit.errors import ConfigurationError

__all__ = ["IMMUTABLE", "NO_CACHE", "PublishReport", "console_settings", "publish"]

#: ``cache-control`` of the hashed build files.
IMMUTABLE = "public, max-age=31536000, immutable"
#: ``cache-control`` of ``index.html``, ``console.json`` and the other files.
NO_CACHE = "no-cache"
_SCOPES = "openid email profile"


@dataclass
class PublishReport:
    """What was published where."""

    bucket: str
    uploaded: dict[str, str] = field(default_factory=dict)  # key -> cache-control
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        assets = sum(1 for key in self.uploaded if key.startswith("assets/"))
        return (
            f"published {len(self.uploaded)} files ({assets} hashed assets) and console.json "
            f"to s3://{self.bucket}; API {self.settings['api']}"
        )


def console_settings(
    outputs: Mapping[str, str], *, auth_domain: str | None, client_id: str | None, name: str
) -> dict[str, Any]:
    """``console.json`` for a stack with these outputs.

    Raises:
        ConfigurationError: an output or the client id is missing, or ``auth_domain``
            (default: the ``UserPoolDomainUrl`` output) is missing or not an https
            origin.
    """
    for key in ("HttpApiUrl", "WebSocketUrl"):
        if not outputs.get(key):
            raise ConfigurationError(f"the stack has no {key} output")
    client = client_id or outputs.get("UserPoolClientId")
    if not client:
        raise ConfigurationError(
            "no app client: pass --client-id (the stack creates none: UserPoolId was given)"
        )
    auth_domain = auth_domain or outputs.get("UserPoolDomainUrl")
    if not auth_domain:
        raise ConfigurationError(
            "no Hosted UI domain: pass --auth-domain (the stack creates none: deploy it "
            "with UserPoolDomainPrefix, or give the user pool a domain yourself)"
        )
    parts = urlsplit(auth_domain)
    if parts.scheme != "https" or not parts.netloc or parts.path not in ("", "/"):
        raise ConfigurationError(
            "--auth-domain must be the user pool domain's https origin "
            "(https://PREFIX.auth.REGION.amazoncognito.com)"
        )
    base = f"https://{parts.netloc}"
    auth = {
        "authorize": base + "/oauth2/authorize",
        "token": base + "/oauth2/token",
        "revoke": base + "/oauth2/revoke",
        "logout": base + "/logout",
        "client_id": client,
        "scopes": _SCOPES,
    }
    if outputs.get("ConsoleDomain"):  # the app client's one callback and sign-out URL
        home = f"https://{outputs['ConsoleDomain']}"
        auth |= {"callback": home + "/callback", "signed_out": home + "/signed-out"}
    return {
        "api": outputs["HttpApiUrl"].rstrip("/"),
        "websocket": outputs["WebSocketUrl"].rstrip("/"),
        "auth": auth,
        "local": False,
        "deployment": name,
    }


def publish(
    stack: str,
    *,
    dist: Path,
    auth_domain: str | None = None,
    client_id: str | None = None,
    cloudformation: Any = None,
    s3: Any = None,
) -> PublishReport:
    """Upload the build in ``dist`` to ``stack``'s console bucket, with ``console.json``.

    Raises:
        ConfigurationError: no build, a stack without a console, a missing output.
    """
    import boto3

    if not (dist / "index.html").is_file():
        raise ConfigurationError(
            f"no console build in {dist}: npm --prefix web ci && npm --prefix web run build"
        )
    cloudformation = cloudformation or boto3.client("cloudformation")
    s3 = s3 or boto3.client("s3")
    outputs = _outputs(cloudformation, stack)
    bucket = outputs.get("ConsoleBucketName")
    if not bucket:
        raise ConfigurationError(
            f"stack {stack!r} has no console: deploy it with the ConsoleDomain parameter"
        )
    settings = console_settings(outputs, auth_domain=auth_domain, client_id=client_id, name=stack)
    report = PublishReport(bucket=bucket, settings=settings)
    files = sorted(_files(dist), key=lambda p: (p.name == "index.html", str(p)))
    for path in files:
        key = path.relative_to(dist).as_posix()
        cache = IMMUTABLE if key.startswith("assets/") else NO_CACHE
        with path.open("rb") as body:
            s3.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=_type(path), CacheControl=cache
            )
        report.uploaded[key] = cache
    s3.put_object(
        Bucket=bucket,
        Key="console.json",
        Body=json.dumps(settings, indent=2).encode(),
        ContentType="application/json",
        CacheControl=NO_CACHE,
    )
    return report


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        raise ConfigurationError(f"cannot read stack {stack!r}: {code}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def _files(dist: Path) -> Iterator[Path]:
    for path in dist.rglob("*"):
        if path.is_file() and path.name != "console.json" and not path.name.startswith("."):
            yield path


def _type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return kind + "; charset=utf-8" if kind.startswith("text/") else kind
