"""Bad input: a typed error naming the field, and nothing written."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tenantkit.db import MAX_QUERY_LIMIT, SortKey
from tenantkit.errors import InvalidKey, InvalidRequest
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, must_get

_input = pytest.mark.conformance("db", "input")

_BAD_COLLECTIONS = ["", "Notes", "1notes", "no-tes", "no/tes", "no tes", "n" * 64, "nötes"]
_BAD_FIELDS = ["pk", "sk", "", "1st", "a-b", "a.b", "$x", "a b", "x" * 65]
_BAD_VALUES: list[tuple[Any, str]] = [
    (object(), "field"),
    (b"bytes", "field"),
    ({1, 2}, "field"),
    (float("nan"), "field"),
    (float("inf"), "field"),
    ({"when": object()}, "field.when"),
    (["ok", b"no"], "field[1]"),
    ("nul\x00inside", "field"),
    ({"k\x00": 1}, "field"),
    ("lone \ud800 surrogate", "field"),
]

_crud = pytest.mark.conformance("db", "crud")
_conditions = pytest.mark.conformance("db", "conditions")
_update = pytest.mark.conformance("db", "update")
_query = pytest.mark.conformance("db", "query")
_cursors = pytest.mark.conformance("db", "cursors")
_index = pytest.mark.conformance("db", "index")
_batch = pytest.mark.conformance("db", "batch")
_tx = pytest.mark.conformance("db", "transactions")
_ttl = pytest.mark.conformance("db", "ttl")
_isolation = pytest.mark.conformance("db", "isolation")
_input = pytest.mark.conformance("db", "input")
_capabilities = pytest.mark.conformance("db", "capabilities")


class InputTests(DatabaseSuite):
    """Bad input: a typed error naming the field, and nothing written."""

    @_input
    @pytest.mark.parametrize("name", _BAD_COLLECTIONS)
    def test_bad_collection_names(self, db: TenantDatabase, name: str) -> None:
        calls: list[Callable[[], object]] = [
            lambda: db.get(name, "pk"),
            lambda: db.put(name, {"pk": "pk"}),
            lambda: db.update(name, "pk", set={"a": 1}),
            lambda: db.delete(name, "pk"),
            lambda: db.query(name, "pk"),
        ]
        for call in calls:
            with pytest.raises(InvalidRequest) as caught:
                call()
            assert repr(name) in str(caught.value)

    @_input
    def test_bad_keys(self, db: TenantDatabase) -> None:
        cases: list[tuple[Any, Any, str]] = [
            ("a\x00b", "", "pk"),
            ("a", "\x00", "sk"),
            (1, "", "pk"),
            ("a", None, "sk"),
            ("k" * 1025, "", "pk"),
            ("a", "é" * 513, "sk"),
            ("lone\udc00", "", "pk"),
        ]
        for pk, sk, field in cases:
            calls: list[Callable[[], object]] = [
                partial(db.get, NOTES, pk, sk),
                partial(db.put, NOTES, {"pk": pk, "sk": sk}),
                partial(db.update, NOTES, pk, sk, set={"a": 1}),
                partial(db.delete, NOTES, pk, sk),
            ]
            for call in calls:
                with pytest.raises(InvalidKey) as caught:
                    call()
                assert field in str(caught.value)
        with pytest.raises(InvalidKey, match="pk"):
            db.query(NOTES, "a\x00")
        with pytest.raises(InvalidRequest, match="pk"):
            db.put(NOTES, {"sk": "no pk"})
        with pytest.raises(InvalidRequest, match="mapping"):
            db.put(NOTES, [("pk", "x")])  # type: ignore[arg-type]

    @_input
    @pytest.mark.parametrize("name", _BAD_FIELDS)
    def test_bad_field_names(self, db: TenantDatabase, name: str) -> None:
        db.put(NOTES, {"pk": "f", "n": 1})
        calls: list[Callable[[], object]] = [
            lambda: db.update(NOTES, "f", set={name: 1}),
            lambda: db.update(NOTES, "f", increment={name: 1}),
            lambda: db.update(NOTES, "f", remove=[name]),
        ]
        if name not in ("pk", "sk"):
            calls.append(lambda: db.put(NOTES, {"pk": "g", name: 1}))
        for call in calls:
            with pytest.raises(InvalidRequest) as caught:
                call()
            assert repr(name) in str(caught.value)
        assert db.get(NOTES, "g", consistent=True) is None
        assert must_get(db, NOTES, "f").data == {"n": 1}

    @_input
    @pytest.mark.parametrize(("value", "path"), _BAD_VALUES)
    def test_non_json_values(self, db: TenantDatabase, value: Any, path: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            db.put(NOTES, {"pk": "j", "field": value})
        assert path in str(caught.value)
        with pytest.raises(InvalidRequest) as caught:
            db.update(NOTES, "j", set={"field": value}, upsert=True)
        assert path in str(caught.value)
        assert db.get(NOTES, "j", consistent=True) is None

    @_input
    def test_bad_update_requests(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "u", "n": 1})
        with pytest.raises(InvalidRequest, match="at least one"):
            db.update(NOTES, "u")
        with pytest.raises(InvalidRequest, match="once"):
            db.update(NOTES, "u", set={"n": 2}, remove=["n"])
        for amount in ("1", True, None, float("inf")):
            with pytest.raises(InvalidRequest, match=r"\bn\b"):
                db.update(NOTES, "u", increment={"n": amount})  # type: ignore[dict-item]
        assert must_get(db, NOTES, "u").data == {"n": 1}

    @_input
    @pytest.mark.parametrize("limit", [0, -1, MAX_QUERY_LIMIT + 1, True, 2.0, "10"])
    def test_limit_out_of_range(self, db: TenantDatabase, limit: Any) -> None:
        with pytest.raises(InvalidRequest, match="limit"):
            db.query(NOTES, "p", limit=limit)

    @_input
    def test_bad_sort_conditions(self, db: TenantDatabase) -> None:
        with pytest.raises(InvalidRequest, match="upper"):
            db.query(NOTES, "p", sort=SortKey(op="between", value="a"))
        with pytest.raises(InvalidKey, match=r"sort\.value"):
            db.query(NOTES, "p", sort=SortKey(op="eq", value="a\x00"))
        with pytest.raises(InvalidKey, match=r"sort\.upper"):
            db.query(NOTES, "p", sort=SortKey.between("a", "b\x00"))
