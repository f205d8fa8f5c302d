"""``tenantkit serve --demo``: demo tenants on the embedded providers, and how to call them.

The tenants are those of ``python -m tenantkit.demo`` (``acme`` and ``globex``,
sharing one sqlite file, one local storage directory and the echo LLM), written
into the state directory and registered in the control plane. Each gets a user with
the ``admin`` role and a token from the local issuer; :func:`instructions` is what the
server prints: each tenant's web console first, then shell lines (curl, and
:mod:`tenantkit_runtime.local.ws_client`) that work as printed once the server listens.

The console's local sign-in lists the users of the local user pool:
:func:`create_users` adds ``admin@<tenant>.example`` (role ``admin``) and
``member@<tenant>.example`` (role ``member``) to each demo tenant and the platform
operator ``operator@tenantkit.local`` (no tenant), and each tenant
gets its brand colour (:data:`COLORS`) unless its admin chose another.
"""

from __future__ import annotations

import json
import secrets
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tenantkit.demo import TENANTS, write_config
from tenantkit_runtime.local.environment import LocalDeployment
from tenantkit_runtime.local.users import LocalUserStore

__all__ = [
    "COLORS",
    "STORAGE_PATH",
    "TOKEN_TTL",
    "USERS",
    "console_urls",
    "create_users",
    "instructions",
    "issue_tokens",
    "write_tenants",
]

#: The demo user of each tenant.
USERS: dict[str, str] = {"acme": "alice", "globex": "bob", "initech": "carol"}
#: The tenant on a small plan, to show a limit being reached.
SMALL_TENANT, SMALL_NAME = "initech", "Initech"
#: The plans of the demo deployment (in ``defaults.json``).
PLANS: dict[str, dict[str, Any]] = {
    "standard": {"limits": {"requests_per_minute": 600, "storage_quota_bytes": 100_000_000}},
    "small": {
        "limits": {
            "requests_per_minute": 5,
            "llm_tokens_per_day": 2000,
            "storage_quota_bytes": 10_000_000,
        },
        "features": {"image_generation": False},
    },
}
#: Where the demo tenants' presigned storage URLs point, below the server's origin.
STORAGE_PATH = "/_storage"
#: How long the printed tokens last (seconds).
TOKEN_TTL = 12 * 3600
#: The demo tenants' brand colours (their branding's ``primary_color``).
COLORS: dict[str, str] = {"acme": "#0b5fff", "globex": "#b3261e", "initech": "#2e7d32"}
#: The console sign-in's demo users: ``{role}@{tenant}.example`` for each of these roles.
CONSOLE_ROLES = ("admin", "member")
#: The demo's platform operator, who signs in at ``http://localhost:PORT/``.
OPERATOR_EMAIL = "operator@tenantkit.local"


def write_tenants(local: LocalDeployment) -> Path:
    """Write the demo tenants' secrets into the state directory; the config directory.

    ``defaults.json`` is written afresh at every start (the server's port may have
    changed); a tenant's own file only when it is missing, so settings its admin
    changed through the config API survive a restart (``--reset`` starts over). The
    data directory is kept.
    """
    config_dir, _ = write_config(
        local.state_dir,
        storage_url=local.origin + STORAGE_PATH,
        signing_key=_storage_key(local.state_dir / "config" / "defaults.json"),
        keep_tenants=True,
    )
    defaults_path = config_dir / "defaults.json"
    defaults = json.loads(defaults_path.read_text(encoding="utf-8"))
    defaults["plans"] = PLANS
    defaults_path.write_text(json.dumps(defaults, indent=2), encoding="utf-8")
    small = {
        "schema_version": 1,
        "tenant_id": SMALL_TENANT,
        "plan": "small",
        "llm": {"provider": "echo", "prefix": f"{SMALL_NAME} assistant: "},
        "branding": {"display_name": SMALL_NAME},
    }
    (config_dir / f"{SMALL_TENANT}.json").write_text(json.dumps(small, indent=2), encoding="utf-8")
    for tenant_id, color in COLORS.items():
        path = config_dir / f"{tenant_id}.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        branding = document.setdefault("branding", {})
        if "primary_color" not in branding:
            branding["primary_color"] = color
            path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return config_dir


def create_users(store: LocalUserStore) -> None:
    """Invite the console's demo users that are missing (see the module documentation)
    into the local pool and the control plane's user table."""
    from tenantkit_runtime import deployment
    from tenantkit_runtime.users import Invitation, UserDirectory

    directory = UserDirectory(store, deployment.control_plane())
    for tenant_id in (*TENANTS, SMALL_TENANT):
        for role in CONSOLE_ROLES:
            email = f"{role}@{tenant_id}.example"
            if store.find_email(email) is None:
                invitation = Invitation(email=email, roles=[role])
                directory.invite(tenant_id, invitation, actor="tenantkit-demo")
    if store.find_email(OPERATOR_EMAIL) is None:
        store.create_operator(OPERATOR_EMAIL)


def console_urls(local: LocalDeployment) -> dict[str, str]:
    """Each demo tenant's console address."""
    port = urlsplit(local.origin).port
    return {t: f"http://{t}.localhost:{port}/" for t in (*TENANTS, SMALL_TENANT)}


def _storage_key(defaults: Path) -> str:
    """The presign key already in use (URLs handed out stay valid), else a new one."""
    try:
        key = json.loads(defaults.read_text(encoding="utf-8"))["storage"]["signing_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return secrets.token_urlsafe(32)
    return key if isinstance(key, str) and len(key) >= 16 else secrets.token_urlsafe(32)


def register_tenants() -> None:
    """Record the demo tenants in the deployment's control plane."""
    from tenantkit_runtime import deployment

    plane = deployment.control_plane()
    for tenant_id, name in {**TENANTS, SMALL_TENANT: SMALL_NAME}.items():
        plane.register_tenant(tenant_id, display_name=name)


def issue_tokens(local: LocalDeployment, *, ttl: int = TOKEN_TTL) -> dict[str, str]:
    """A token for each demo tenant's user, with the ``admin`` role."""
    return {
        tenant_id: local.issuer.issue(tenant=tenant_id, user=user, roles=["admin"], ttl=ttl)
        for tenant_id, user in USERS.items()
    }


def _json_field(*path: str) -> str:
    keys = "".join(f"[{json.dumps(p)}]" for p in path)
    return shlex.quote(f"import json, sys; print(json.load(sys.stdin){keys})")


def instructions(
    local: LocalDeployment,
    tokens: dict[str, str],
    *,
    websocket_url: str,
    python: str = sys.executable,
) -> str:
    """What the server prints: where it listens and how to call the demo tenants."""
    base = local.origin
    acme, globex = '"Authorization: Bearer $ACME_TOKEN"', '"Authorization: Bearer $GLOBEX_TOKEN"'
    small = '"Authorization: Bearer $INITECH_TOKEN"'
    as_json = "-H 'content-type: application/json'"
    hours = TOKEN_TTL // 3600
    names = ", ".join(
        f"{t} ({n}, user {USERS[t]})" for t, n in {**TENANTS, SMALL_TENANT: SMALL_NAME}.items()
    )
    consoles = [
        f"  {url:<34} {tenant}: sign in as admin@{tenant}.example or member@{tenant}.example"
        for tenant, url in console_urls(local).items()
    ]
    lines = [
        "tenantkit serve --demo: three tenants on the embedded providers "
        "(sqlite, local storage, echo LLM)",
        "",
        "Web consoles (open in a browser; local sign-in, development only):",
        "",
        *consoles,
        f"  {f'http://localhost:{urlsplit(local.origin).port}/':<34} "
        f"the operator's console: sign in as {OPERATOR_EMAIL}",
        "",
        f"  HTTP API       {base}",
        f"  WebSocket API  {websocket_url}",
        f"  tenants        {names}",
        f"  state          {local.state_dir}",
        "",
        f"Call them from another shell (bash or zsh). Tokens, valid {hours} hours "
        "(more with: tenantkit token --tenant acme --user carol --role admin):",
        "",
        f"    export ACME_TOKEN={tokens['acme']}",
        f"    export GLOBEX_TOKEN={tokens['globex']}",
        f"    export INITECH_TOKEN={tokens[SMALL_TENANT]}",
        "",
        "Chat: a conversation with acme's assistant, then globex's through the "
        "OpenAI-compatible route:",
        "",
        f"    CONVERSATION_ID=$(curl -s -X POST {base}/conversations -H {acme} {as_json} "
        f"""-d '{{"title": "first steps"}}' | python3 -c {_json_field("id")})""",
        f"    curl -s -X POST {base}/conversations/$CONVERSATION_ID/messages -H {acme} "
        f"""{as_json} -d '{{"content": "hello"}}'""",
        f"    curl -s {base}/conversations/$CONVERSATION_ID/messages -H {acme}",
        f"    curl -s -X POST {base}/v1/chat/completions -H {globex} {as_json} "
        """-d '{"model": "default", "messages": [{"role": "user", "content": "hello"}]}'""",
        "",
        "Files: ask for an upload, PUT the file to the presigned URL, confirm it, list, download:",
        "",
        f"    UPLOAD=$(curl -s -X POST {base}/files -H {acme} {as_json} "
        """-d '{"name": "hello.txt", "content_type": "text/plain", "size": 12}')""",
        f"""    FILE_ID=$(printf '%s' "$UPLOAD" | python3 -c {_json_field("file", "id")})""",
        "    curl -s -X PUT "
        f""""$(printf '%s' "$UPLOAD" | python3 -c {_json_field("upload", "url")})" """
        "-H 'content-type: text/plain' --data-binary 'hello, acme!' -w '%{http_code}\\n'",
        f"    curl -s -X POST {base}/files/$FILE_ID/confirm -H {acme}",
        f"    curl -s {base}/files -H {acme}",
        f"""    curl -s "$(curl -s {base}/files/$FILE_ID/download -H {acme} """
        f"""| python3 -c {_json_field("url")})\"""",
        "",
        "Each token reaches its own tenant only: globex sees none of acme's files, and "
        "a request naming another tenant is refused (403):",
        "",
        f"    curl -s {base}/files -H {globex}",
        f"    curl -s {base}/files/$FILE_ID -H {globex}",
        f"    curl -s -i {base}/files -H {acme} -H 'X-Tenant-Id: globex'",
        "",
        f"Limits: {SMALL_TENANT} is on the plan 'small' (5 requests a minute); the sixth "
        "request of a minute gets 429 with Retry-After. Its usage report (GET /usage for "
        "its admins, once the minute is over; the operator's own command at any time):",
        "",
        "    for i in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' "
        f"{base}/config/branding -H {small}; done",
        f"    curl -s -i {base}/config/branding -H {small} | grep -i -E '^(HTTP/|retry-after)'",
        f"    TENANTKIT_CONTROL_PLANE={shlex.quote(json.dumps(local.control_plane))} "
        f"{shlex.quote(python)} -m tenantkit usage {SMALL_TENANT}",
        f"    curl -s {base}/usage -H {small}",
        "",
        "A streamed reply over the WebSocket API: connect, type "
        '{"action": "chat", "content": "hello"} and Enter (Ctrl-D leaves); '
        "the client reads the token from $ACME_TOKEN:",
        "",
        f"    {shlex.quote(python)} -m tenantkit_runtime.local.ws_client {websocket_url} "
        "--token-env ACME_TOKEN",
        "",
        f"Stop the server with Ctrl-C; {local.state_dir} keeps the tenants' data and "
        "settings (--reset starts over).",
    ]
    return "\n".join(lines)


def plain_instructions(local: LocalDeployment, tenants: list[str], *, websocket_url: str) -> str:
    """What the server prints without ``--demo``."""
    if tenants:
        shown = ", ".join(tenants[:8]) + (", ..." if len(tenants) > 8 else "")
        found = f"{len(tenants)} in {local.config_dir} ({shown})"
    else:
        found = (
            f"none yet in {local.config_dir}: add {{tenant}}.json files there "
            "(tenantkit secret schema), or start with --demo"
        )
    return "\n".join(
        [
            "tenantkit serve: API Gateway on 127.0.0.1, the runtime's functions behind it",
            "",
            f"  HTTP API       {local.origin}  (Authorization: Bearer TOKEN)",
            f"  WebSocket API  {websocket_url}?token=TOKEN",
            f"  tenants        {found}",
            "  tokens         tenantkit token --tenant ID --user ID [--role admin]",
            f"  state          {local.state_dir}",
            "",
            "Stop the server with Ctrl-C.",
        ]
    )
