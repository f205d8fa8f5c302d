"""Untrusted JSON: bounded nesting, one value per key, UTF-8 only, typed refusals."""

from __future__ import annotations

import json

import pytest

from tenantkit.errors import InvalidRequest
from tenantkit.untrusted import MAX_JSON_DEPTH, loads


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[["', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["\\"[[", ["]]]"]]', 2),  # brackets inside strings, escaped quotes
        ('["\\\\", [[]]]', 3),  # an escaped backslash ends the string
        ("[" + "[], " * 100 + "[]]", 2),  # many brackets, little depth
    ],
)
def test_depth_is_the_nesting_of_arrays_and_objects(text: str, depth: int) -> None:
    assert loads(text, what="x", max_depth=depth) == json.loads(text)
    assert loads(text.encode(), what="x", max_depth=depth) == json.loads(text)
    if depth:
        with pytest.raises(InvalidRequest, match=f"x is nested deeper than {depth - 1} levels"):
            loads(text, what="x", max_depth=depth - 1)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 2_000, 200_000])
def test_deep_documents_are_refused_not_crashed(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        with pytest.raises(InvalidRequest, match=f"nested deeper than {MAX_JSON_DEPTH}"):
            loads(text, what="the body")


def test_the_limit_itself_is_accepted() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json.dumps(loads(text, what="x")) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"tenant": "a", "tenant": "b"}', "repeats the key 'tenant'"),
        ('[{"k": 1}, {"x": {"k": 1, "k": 1}}]', "repeats the key 'k'"),
        ("[NaN]", "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        ("1" * 5_000, "not valid JSON"),  # more digits than Python converts
        ('{"a": 1', "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_ambiguous_and_malformed_documents_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        loads(text, what="the body")


@pytest.mark.parametrize(
    "data",
    [
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-32"),
        b'{"a": "\xc0\xaf"}',
        b'{"a": "\xed\xa0\x80"}',
        b"\xef\xbb\xbf{}",  # a byte order mark
    ],
)
def test_bytes_must_be_utf8(data: bytes) -> None:
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        loads(data, what="the body")


def test_a_long_repeated_key_is_cut_in_the_message() -> None:
    key = "k" * 1_000
    with pytest.raises(InvalidRequest) as info:
        loads(f'{{"{key}": 1, "{key}": 2}}', what="x")
    assert len(info.value.message) < 120


def test_valid_documents_parse() -> None:
    assert loads(b'{"a": [1, 2.5, "\xc3\xa9", null, true]}', what="x") == {
        "a": [1, 2.5, "é", None, True]
    }
