"""The local user pool: :class:`~tenantkit_runtime.userstore.UserStore` on a sqlite
file, and the sessions of the local token issuer.

``tenantkit serve`` keeps it in its state directory (``users.sqlite3``) and points
the functions at it (``TENANTKIT_LOCAL_USERS``), so inviting, disabling or removing
a user works end to end without AWS. A user id is a random UUID, as a Cognito
``sub`` is. No email is sent: an invitation is recorded, and the user is ``invited``
until the first sign-in (:meth:`LocalUserStore.sign_in`).

Sessions stand in for Cognito's refresh tokens: :meth:`LocalUserStore.sign_in`
answers an ID token, an access token and a refresh token; :meth:`refresh` trades a
refresh token for new tokens carrying the user's *current* roles, and fails (as
Cognito does) when the user is disabled, removed or signed out. Refresh tokens are
kept only as SHA-256 digests. The server serves the exchange at ``POST
/oauth2/token`` (``grant_type=refresh_token``), the path of Cognito's token endpoint.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantkit.errors import ConditionFailed, ConfigurationError, NotFound
from tenantkit_runtime.auth.errors import TokenRejected
from tenantkit_runtime.local.issuer import LocalIssuer
from tenantkit_runtime.roles import OPERATOR
from tenantkit_runtime.userstore import PoolUser

__all__ = ["ACCESS_TOKEN_TTL", "REFRESH_TOKEN_TTL", "LocalUserStore", "token_endpoint"]

#: Lifetime of the ID and access tokens of a session (seconds): what a disabled user
#: or a changed role may still use after the change.
ACCESS_TOKEN_TTL = 15 * 60
#: Lifetime of a refresh token (seconds), as the template's app client (30 days).
REFRESH_TOKEN_TTL = 30 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    confirmed INTEGER NOT NULL,
    display_name TEXT,
    locale TEXT,
    invitations INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
"""


class LocalUserStore:
    """Users and sessions in one sqlite file (see the module documentation)."""

    def __init__(self, path: Path | str, *, token_ttl: int = ACCESS_TOKEN_TTL) -> None:
        if not 0 < token_ttl <= 24 * 3600:
            raise ConfigurationError(f"token lifetime must be 1 to 86400 seconds, got {token_ttl}")
        self.path = Path(path)
        #: Lifetime of the ID and access tokens this store's sessions get (seconds).
        self.token_ttl = token_ttl
        self._lock = threading.Lock()
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._db() as db:
            db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"LocalUserStore({str(self.path)!r})"

    # --- UserStore -------------------------------------------------------------------------

    def create(
        self,
        *,
        tenant_id: str,
        email: str,
        roles: Iterable[str],
        display_name: str | None = None,
        locale: str | None = None,
    ) -> PoolUser:
        user_id = str(uuid.uuid4())
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (user_id, email, tenant_id, roles, enabled, confirmed,"
                    " display_name, locale, created_at) VALUES (?, ?, ?, ?, 1, 0, ?, ?, ?)",
                    (
                        user_id,
                        email.lower(),
                        tenant_id,
                        json.dumps(sorted(set(roles))),
                        display_name,
                        locale,
                        _now(),
                    ),
                )
        except sqlite3.IntegrityError:
            raise ConditionFailed("a user with this email already exists") from None
        return self._existing(user_id)

    def get(self, user_id: str) -> PoolUser | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else _user(row)

    def tenant_users(self, tenant_id: str, *, limit: int = 50) -> list[PoolUser]:
        """The enabled users of ``tenant_id``, by email (at most ``limit``)."""
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM users WHERE tenant_id = ? AND enabled = 1 ORDER BY email LIMIT ?",
                (tenant_id, limit),
            ).fetchall()
        return [_user(row) for row in rows]

    def create_operator(self, email: str) -> PoolUser:
        """Add a platform operator: role ``operator``, no tenant (kept as ``""``), able to
        sign in at once (the operator is given the role by hand, never invited)."""
        user_id = str(uuid.uuid4())
        try:
            with self._db() as db:
                db.execute(
                    "INSERT INTO users (user_id, email, tenant_id, roles, enabled, confirmed,"
                    " created_at) VALUES (?, ?, '', ?, 1, 1, ?)",
                    (user_id, email.lower(), json.dumps([OPERATOR]), _now()),
                )
        except sqlite3.IntegrityError:
            raise ConditionFailed("a user with this email already exists") from None
        return self._existing(user_id)

    def operators(self, *, limit: int = 50) -> list[PoolUser]:
        """The enabled platform operators, by email."""
        return [u for u in self.tenant_users("", limit=limit) if OPERATOR in u.roles]

    def find_email(self, email: str) -> PoolUser | None:
        """The user signing in with ``email``, or ``None``."""
        with self._db() as db:
            row = db.execute("SELECT * FROM users WHERE email = ?", (email.lower(),)).fetchone()
        return None if row is None else _user(row)

    def set_roles(self, user_id: str, roles: Iterable[str], *, managed: Iterable[str]) -> None:
        user = self._existing(user_id)
        kept = set(user.roles) - set(managed)
        self._update(user_id, roles=json.dumps(sorted(kept | set(roles))))

    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self._update(user_id, enabled=int(enabled))
        if not enabled:
            self.sign_out(user_id)

    def delete(self, user_id: str) -> None:
        self._existing(user_id)
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM users WHERE user_id = ?", (user_id,))

    def resend_invitation(self, user_id: str) -> None:
        if self._existing(user_id).confirmed:
            raise ConditionFailed("the user has already signed in: there is no invitation to send")
        with self._db() as db:
            db.execute(
                "UPDATE users SET invitations = invitations + 1 WHERE user_id = ?", (user_id,)
            )

    def invitations(self, user_id: str) -> int:
        """How many invitations the user was sent."""
        with self._db() as db:
            row = db.execute(
                "SELECT invitations FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
        if row is None:
            raise NotFound("no such user")
        return int(row["invitations"])

    def update_profile(self, user_id: str, *, display_name: str | None, locale: str | None) -> None:
        changes = {
            k: v for k, v in (("display_name", display_name), ("locale", locale)) if v is not None
        }
        self._existing(user_id)
        if changes:
            self._update(user_id, **changes)

    def sign_out(self, user_id: str) -> None:
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    # --- sessions --------------------------------------------------------------------------

    def sign_in(self, email: str, issuer: LocalIssuer) -> dict[str, Any]:
        """Start a session for the user with ``email`` (the local stand-in for the hosted
        sign-in): tokens as Cognito's token endpoint answers them. An invited user
        becomes active."""
        user = self.find_email(email)
        if user is None or not user.enabled or not _may_sign_in(user):
            raise TokenRejected("the user does not exist or is disabled", reason="user")
        if not user.confirmed:
            self._update(user.user_id, confirmed=1)
        refresh_token = secrets.token_urlsafe(48)
        with self._db() as db:
            db.execute(
                "INSERT INTO sessions (digest, user_id, expires_at) VALUES (?, ?, ?)",
                (_digest(refresh_token), user.user_id, int(time.time()) + REFRESH_TOKEN_TTL),
            )
        return {**self._tokens(user, issuer), "refresh_token": refresh_token}

    def refresh(self, refresh_token: str, issuer: LocalIssuer) -> dict[str, Any]:
        """New ID and access tokens for a session, with the user's current roles.

        Raises:
            TokenRejected: the refresh token is unknown, expired or revoked, or the
                user is disabled or gone.
        """
        with self._db() as db:
            row = db.execute(
                "SELECT user_id, expires_at FROM sessions WHERE digest = ?",
                (_digest(refresh_token),),
            ).fetchone()
        if row is None or row["expires_at"] <= time.time():
            raise TokenRejected("the refresh token is invalid, expired or revoked", reason="user")
        user = self.get(row["user_id"])
        if user is None or not user.enabled or not _may_sign_in(user):
            raise TokenRejected("the user does not exist or is disabled", reason="user")
        return self._tokens(user, issuer)

    def revoke(self, refresh_token: str) -> None:
        """End the session of ``refresh_token`` (an unknown token is no error, as RFC
        7009 says): its next refresh fails."""
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE digest = ?", (_digest(refresh_token),))

    def _tokens(self, user: PoolUser, issuer: LocalIssuer) -> dict[str, Any]:
        ttl = self.token_ttl
        claims = {"email": user.email}
        return {
            "id_token": issuer.issue(
                tenant=user.tenant_id,
                user=user.user_id,
                roles=user.roles,
                ttl=ttl,
                extra_claims=claims,
            ),
            "access_token": issuer.issue(
                tenant=user.tenant_id,
                user=user.user_id,
                roles=user.roles,
                ttl=ttl,
                token_use="access",  # noqa: S106 - a claim value, not a password
            ),
            "token_type": "Bearer",
            "expires_in": ttl,
        }

    # --- plumbing --------------------------------------------------------------------------

    def _existing(self, user_id: str) -> PoolUser:
        user = self.get(user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    def _update(self, user_id: str, **columns: Any) -> None:
        assignments = ", ".join(f"{name} = ?" for name in columns)  # names are ours
        with self._db() as db:
            cursor = db.execute(
                f"UPDATE users SET {assignments} WHERE user_id = ?",  # noqa: S608
                (*columns.values(), user_id),
            )
        if cursor.rowcount == 0:
            raise NotFound("no such user")

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = sqlite3.connect(self.path, timeout=10)
            db.row_factory = sqlite3.Row
            try:
                with db:
                    yield db
            finally:
                db.close()


def _may_sign_in(user: PoolUser) -> bool:
    """A tenant's user, or the platform operator (no tenant, role operator)."""
    return user.tenant_id is not None or OPERATOR in user.roles


def _user(row: sqlite3.Row) -> PoolUser:
    return PoolUser(
        user_id=row["user_id"],
        email=row["email"],
        tenant_id=row["tenant_id"] or None,
        roles=tuple(json.loads(row["roles"])),
        enabled=bool(row["enabled"]),
        confirmed=bool(row["confirmed"]),
        display_name=row["display_name"],
        locale=row["locale"],
        created_at=row["created_at"],
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def token_endpoint(
    store: LocalUserStore, issuer: LocalIssuer, form: Mapping[str, str]
) -> tuple[int, dict[str, Any]]:
    """``POST /oauth2/token`` as Cognito answers it, for ``grant_type=refresh_token``:
    the status and the JSON body (``invalid_grant`` when the refresh fails).
    https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html"""
    if form.get("grant_type") != "refresh_token":
        return 400, {"error": "unsupported_grant_type"}
    token = form.get("refresh_token") or ""
    if not token or len(token) > 512:
        return 400, {"error": "invalid_request"}
    try:
        return 200, store.refresh(token, issuer)
    except TokenRejected:
        return 400, {"error": "invalid_grant"}
