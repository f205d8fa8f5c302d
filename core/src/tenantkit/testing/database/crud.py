"""Items: put, get, replace, delete, versions, keys, atomic increments."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite, keys_of, must_get

_crud = pytest.mark.conformance("db", "crud")


class CrudTests(DatabaseSuite):
    """Items: put, get, replace, delete, versions, keys, atomic increments."""

    @_crud
    def test_put_then_get_round_trips_json(self, db: TenantDatabase) -> None:
        fields: dict[str, Any] = {
            "text": "héllo 東京 😀",
            "empty": "",
            "count": 42,
            "negative": -7,
            "big": 2**53 - 1,
            "ratio": 1.5,
            "fraction": -2.25,
            "yes": True,
            "no": False,
            "nothing": None,
            "tags": ["a", 1, None, [True]],
            "nested": {"a": {"b": [1, {"c": "d"}]}, "empty": {}},
            "none_list": [],
        }
        written = db.put(NOTES, {"pk": "p1", "sk": "s1", **fields})
        assert (written.pk, written.sk) == ("p1", "s1")
        assert written.data == fields
        assert isinstance(written.version, str)
        assert written.version
        assert written.expires_at is None
        read = db.get(NOTES, "p1", "s1", consistent=True)
        assert read is not None
        assert read.data == fields
        assert read.version == written.version
        assert read.to_dict() == {"pk": "p1", "sk": "s1", **fields}
        assert type(read["count"]) is int
        assert type(read["big"]) is int
        assert type(read["ratio"]) is float
        assert read["yes"] is True

    @_crud
    def test_get_missing_is_none(self, db: TenantDatabase) -> None:
        assert db.get(NOTES, "absent", consistent=True) is None
        db.put(NOTES, {"pk": "present", "sk": "1"})
        assert db.get(NOTES, "present", "2", consistent=True) is None
        assert db.get(NOTES, "present", consistent=True) is None

    @_crud
    def test_sort_key_defaults_to_empty(self, db: TenantDatabase) -> None:
        written = db.put(NOTES, {"pk": "solo", "v": 1})
        assert written.sk == ""
        read = db.get(NOTES, "solo", consistent=True)
        assert read is not None
        assert (read.pk, read.sk, read["v"]) == ("solo", "", 1)
        assert db.get(NOTES, "solo", "", consistent=True) == read

    @_crud
    def test_put_replaces_the_whole_item(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "p", "sk": "s", "a": 1, "b": 2})
        db.put(NOTES, {"pk": "p", "sk": "s", "c": 3})
        read = db.get(NOTES, "p", "s", consistent=True)
        assert read is not None
        assert read.data == {"c": 3}

    @_crud
    def test_every_write_gives_a_new_version(self, db: TenantDatabase) -> None:
        versions = [db.put(NOTES, {"pk": "v", "n": 1}).version]
        versions.append(db.put(NOTES, {"pk": "v", "n": 1}).version)
        versions.append(db.update(NOTES, "v", set={"n": 2}).version)
        versions.append(db.update(NOTES, "v", increment={"n": 1}).version)
        assert len(set(versions)) == len(versions)
        read = db.get(NOTES, "v", consistent=True)
        assert read is not None
        assert read.version == versions[-1]

    @_crud
    def test_delete(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "d", "sk": "1"})
        db.put(NOTES, {"pk": "d", "sk": "2"})
        assert db.delete(NOTES, "d", "1") is True
        assert db.get(NOTES, "d", "1", consistent=True) is None
        assert db.delete(NOTES, "d", "1") is False
        assert db.delete(NOTES, "never") is False
        assert db.get(NOTES, "d", "2", consistent=True) is not None

    @_crud
    def test_collections_are_separate(self, db: TenantDatabase) -> None:
        db.put("notes", {"pk": "same", "sk": "key", "where": "notes"})
        db.put("notes_b", {"pk": "same", "sk": "key", "where": "notes_b"})
        # Names that collide when collection and key are joined without a separator.
        db.put("notes", {"pk": "_x", "where": "notes"})
        db.put("notes_", {"pk": "x", "where": "notes_"})
        for collection in ("notes", "notes_b"):
            assert must_get(db, collection, "same", "key")["where"] == collection
        assert must_get(db, "notes", "_x")["where"] == "notes"
        assert must_get(db, "notes_", "x")["where"] == "notes_"
        assert db.get("notes", "x", consistent=True) is None
        assert db.get("notes_", "_x", consistent=True) is None
        assert keys_of(db.query("notes", "same").items) == [("same", "key")]
        assert db.delete("notes_b", "same", "key") is True
        assert db.get("notes", "same", "key", consistent=True) is not None

    @_crud
    def test_keys_are_opaque_text(self, db: TenantDatabase) -> None:
        keys = [
            ("a#b", "c"),
            ("a", "b#c"),
            ("a/b", "c"),
            ("a", "b/c"),
            ("x:y", "1:2"),
            ("ü東😀", "ß"),
            ("tab\there", "new\nline"),
            ("  spaced ", " "),
            ("%2F", "%00"),
            ("k" * 1024, "s" * 1024),
            ("é" * 512, ""),
        ]
        for n, (pk, sk) in enumerate(keys):
            db.put(NOTES, {"pk": pk, "sk": sk, "n": n})
        for n, (pk, sk) in enumerate(keys):
            read = db.get(NOTES, pk, sk, consistent=True)
            assert read is not None, (pk, sk)
            assert (read.pk, read.sk, read["n"]) == (pk, sk, n)
            assert keys_of(db.query(NOTES, pk).items) == sorted(k for k in keys if k[0] == pk)

    @_crud
    def test_concurrent_increments_are_atomic(self, db: TenantDatabase) -> None:
        db.put(NOTES, {"pk": "counter", "n": 0})
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(10):
                    db.update(NOTES, "counter", increment={"n": 1})
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        read = db.get(NOTES, "counter", consistent=True)
        assert read is not None
        assert read["n"] == 40
