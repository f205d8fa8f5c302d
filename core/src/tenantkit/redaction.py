"""Masking secret values in text: the one redactor of the project.

Error messages, error bodies quoted from a provider, log lines and tracebacks all go
through :func:`redact`. Longer secrets are masked first, so a secret that contains
another (a key and its prefix) is masked whole rather than leaving its tail behind.
Values shorter than :data:`MIN_SECRET_LENGTH` are never masked: they would blank out
ordinary words, and nothing that short is a credential.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MASK", "MIN_SECRET_LENGTH", "redact", "redactable"]

MASK = "**********"
MIN_SECRET_LENGTH = 4


def redactable(secrets: Iterable[str]) -> tuple[str, ...]:
    """The values of ``secrets`` worth masking, longest first, without duplicates."""
    unique = {s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}
    return tuple(sorted(unique, key=lambda s: (-len(s), s)))


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each of ``secrets`` replaced by :data:`MASK`."""
    for secret in redactable(secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
