"""pydantic validation errors as the taxonomy's field errors.

Messages never quote the input: a value in the wrong field may be a credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tenantkit.errors import FieldError, InvalidRequest

__all__ = ["error_path", "field_errors", "validate_request"]

M = TypeVar("M", bound=BaseModel)


def error_path(loc: Sequence[int | str], *, prefix: str = "") -> str:
    """A pydantic error location as the project writes field paths: names joined by
    dots, list positions in brackets (``messages[0].role``, ``llm.api_key``)."""
    parts = [prefix] if prefix else []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts)


def field_errors(exc: ValidationError, *, prefix: str = "") -> list[FieldError]:
    """One :class:`FieldError` per problem, named by :func:`error_path`."""
    return [
        FieldError(error_path(error["loc"], prefix=prefix), _message(error))
        for error in exc.errors(include_input=False, include_url=False)
    ]


def validate_request(model: type[M], fields: Mapping[str, Any]) -> M:
    """``model`` validated from ``fields``; bad input raises :class:`InvalidRequest`
    naming every field path."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in field_errors(exc))
        raise InvalidRequest(f"invalid {model.__name__}: {problems}") from None


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "missing":
        return "field required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return str(error["msg"])
