"""The public branding of a console host: what the sign-in page shows before sign-in.

``GET /branding?host=acme.app.example.com`` (no token: the console asks before anyone
signs in) answers the tenant's ``branding`` section
(:class:`tenantkit.config.Branding`)::

    {"tenant": "acme", "display_name": "Acme Corp", "primary_color": "#0b5fff",
     "logo_url": null, "support_email": null}

The tenant is the host's first label below the deployment's console domain
(``TENANTKIT_CONSOLE_DOMAIN``; ``tenantkit serve`` uses ``localhost``). An unknown
or suspended tenant, a host outside the console domain or a malformed one all get
the same neutral answer with ``"tenant": null``, so the endpoint never tells which
tenants exist. The answer is public data only; it may be cached for a minute.
"""

from __future__ import annotations

from typing import Any

from tenantkit.errors import TenantkitError
from tenantkit.identifiers import is_tenant_id

__all__ = ["MAX_AGE", "NEUTRAL", "public_branding", "tenant_of_host"]

#: Seconds a branding answer may be cached (``cache-control: max-age``).
MAX_AGE = 60
#: The answer for a host that names no served tenant.
NEUTRAL: dict[str, Any] = {
    "tenant": None,
    "display_name": "Console",
    "primary_color": None,
    "logo_url": None,
    "support_email": None,
}
_MAX_HOST = 253


def tenant_of_host(host: str, domain: str | None) -> str | None:
    """The tenant whose console ``host`` is: its first label when the rest is ``domain``.

    ``acme.localhost:8000`` with ``localhost`` is ``acme``; the bare domain, a deeper
    name (``x.acme.localhost``), another domain or a label that is not a tenant id
    are ``None``. A port is ignored; case is not significant.
    """
    if not domain or not host or len(host) > _MAX_HOST + 6:
        return None
    name = host.strip().lower()
    if name.startswith("["):  # an IPv6 literal is never a console host
        return None
    name = name.rsplit(":", 1)[0] if ":" in name else name
    suffix = "." + domain.lower().strip(".")
    if not name.endswith(suffix):
        return None
    label = name[: -len(suffix)]
    if "." in label or not is_tenant_id(label):
        return None
    return label


def public_branding(host: str) -> dict[str, Any]:
    """The answer of ``GET /branding?host=`` for ``host`` (see the module documentation)."""
    from tenantkit_runtime import deployment

    tenant = tenant_of_host(host, deployment.settings().console_domain)
    if tenant is None:
        return dict(NEUTRAL)
    try:
        status = deployment.tenant_status()
        if status is not None and status.suspended(tenant):
            return dict(NEUTRAL)
        branding = deployment.resolver().resolve(tenant).config.branding
    except TenantkitError:
        return dict(NEUTRAL)
    return {**NEUTRAL, "tenant": tenant, **branding.model_dump()}
