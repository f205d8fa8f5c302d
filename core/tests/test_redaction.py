"""The one redactor: longest secret first, one minimum length, one mask; and the one
way a pydantic error location is written as a field path."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from tenantkit import errors
from tenantkit.http import ErrorInfo, redacting
from tenantkit.redaction import MASK, MIN_SECRET_LENGTH, redact, redactable
from tenantkit.validation import error_path, field_errors


def test_a_secret_containing_another_is_masked_whole_whatever_the_order() -> None:
    key, prefix = "sk-live-0123456789abcdef", "sk-live-0123"
    text = f"bad key {key}; prefix {prefix}"
    for secrets in ([prefix, key], [key, prefix]):
        assert redact(text, secrets) == f"bad key {MASK}; prefix {MASK}"
        assert "cdef" not in redact(text, secrets)


def test_short_and_empty_values_are_never_masked() -> None:
    assert MIN_SECRET_LENGTH == 4
    assert redact("abc the cat sat", ["abc", "", "at"]) == "abc the cat sat"
    assert redact("abcd", ["abcd"]) == MASK
    assert redactable(["abc", "abcd", "abcd", "abcdef"]) == ("abcdef", "abcd")


def test_errors_http_bodies_and_logs_mask_alike() -> None:
    from tenantkit_runtime.logs import scrub

    key, prefix = "planted-secret-value-77", "planted-secret"
    text = f"echoed {key} and {prefix}"
    expected = redact(text, [prefix, key])

    error = errors.InvalidRequest(text)
    error._scrub([prefix, key])
    assert error.message == expected

    info = redacting(lambda _response: ErrorInfo(message=text), prefix, key)(None)  # type: ignore[arg-type]
    assert info.message == expected
    assert ErrorInfo(message=text).without(prefix, key).message == expected

    assert scrub(text, [prefix, key]) == expected


class _Message(BaseModel):
    role: str


class _Request(BaseModel):
    messages: list[_Message]
    matrix: list[list[int]] = []


@pytest.mark.parametrize(
    ("loc", "prefix", "expected"),
    [
        (("messages", 0, "role"), "", "messages[0].role"),
        (("matrix", 1, 2), "", "matrix[1][2]"),
        (("api_key",), "llm", "llm.api_key"),
        ((0, "role"), "", "[0].role"),
        (("items", 3), "db", "db.items[3]"),
    ],
)
def test_error_path_format(loc: tuple[int | str, ...], prefix: str, expected: str) -> None:
    assert error_path(loc, prefix=prefix) == expected


def test_field_errors_use_the_one_path_format() -> None:
    with pytest.raises(ValidationError) as info:
        _Request.model_validate({"messages": [{"role": "user"}, {}], "matrix": [[1, "x"]]})
    assert sorted(e.path for e in field_errors(info.value)) == [
        "matrix[0][1]",
        "messages[1].role",
    ]
