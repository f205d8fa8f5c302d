"""Why a token or a request was refused.

Both are the caller's errors in the core taxonomy (:class:`tenantkit.errors.CallerError`):
the caller's own token or rights, never a tenant's credential at its provider.
Their messages say what was wrong (``"token expired at ..."``, ``"issuer is not
trusted"``) and never quote the token.
"""

from __future__ import annotations

from tenantkit.errors import CallerError, Forbidden

__all__ = ["AccessDenied", "TokenRejected", "shown"]


class TokenRejected(CallerError):
    """The bearer token is missing, malformed, forged, expired or not meant for us.

    ``reason`` is a short stable code (``"malformed"``, ``"algorithm"``, ``"issuer"``,
    ``"kid"``, ``"key"``, ``"signature"``, ``"expired"``, ``"not_yet_valid"``,
    ``"token_use"``, ``"client"``, ``"claims"``, ``"tenant"``, ``"missing"``) for logs
    and metrics. HTTP: 401.
    """

    kind = "invalid_token"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AccessDenied(Forbidden):
    """The token is valid but does not give access to what the request names
    (another tenant's resources). HTTP: 403."""

    kind = "access_denied"


def shown(value: object, limit: int = 64) -> str:
    """``repr(value)`` cut to ``limit`` characters: claims and headers come from the
    caller, and a refusal message must stay one short line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
