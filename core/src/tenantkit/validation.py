"""pydantic validation errors as the taxonomy's field errors.

Messages never quote the input: a value in the wrong field may be a credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

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


def field_errors(
    exc: ValidationError, *, prefix: str = "", model: type[BaseModel] | None = None
) -> list[FieldError]:
    """One :class:`FieldError` per problem, named by :func:`error_path`.

    With the ``model`` that was validated, an unknown field whose name is close to one
    of the model's says which it may have meant (``did you mean 'table'?``).
    """
    return [
        FieldError(error_path(error["loc"], prefix=prefix), _message(error, model))
        for error in exc.errors(include_url=False)
    ]


def validate_request(model: type[M], fields: Mapping[str, Any]) -> M:
    """``model`` validated from ``fields``; bad input raises :class:`InvalidRequest`
    naming every field path."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(str(e) for e in field_errors(exc))
        raise InvalidRequest(f"invalid {model.__name__}: {problems}") from None


def _message(error: Mapping[str, Any], model: type[BaseModel] | None) -> str:
    # The input is looked at (is it text?), never quoted.
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "extra_forbidden":
        return "unknown field" + _did_you_mean(error["loc"], model)
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str | SecretStr):
        # pydantic counts a SecretStr's "items"; for text they are characters, and the
        # actual length of a secret is not for an error message.
        ctx = error.get("ctx") or {}
        if kind == "too_short":
            return f"should have at least {ctx.get('min_length')} characters"
        return f"should have at most {ctx.get('max_length')} characters"
    return str(error["msg"])


def _did_you_mean(loc: Sequence[int | str], model: type[BaseModel] | None) -> str:
    """`` (did you mean 'table'?)`` for an unknown field named close to a known one."""
    for part in loc[:-1]:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return ""
        annotation = model.model_fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    name = loc[-1] if loc else None
    if model is None or not isinstance(name, str):
        return ""
    import difflib  # only for an unknown field's error, never on a valid request

    close = difflib.get_close_matches(name, list(model.model_fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
