"""The database conformance suite: what every :class:`tenantkit.Database` must do.

How to run the conformance kit
------------------------------

Subclass :class:`DatabaseConformance` in a test module of the provider package and
supply one fixture, ``database``: a provider instance whose schema includes
:data:`CONFORMANCE_SCHEMA`. Every test of the suite then runs against it::

    import pytest
    from tenantkit import ProviderContext
    from tenantkit.testing import CONFORMANCE_SCHEMA, DatabaseConformance

    class TestExampleConformance(DatabaseConformance):
        @pytest.fixture
        def database(self, example_server):
            context = ProviderContext(
                tenant_id="conformance", provider="example", schema=CONFORMANCE_SCHEMA
            )
            db = ExampleDatabase(Settings(endpoint=example_server.url), context)
            db.ensure_schema(CONFORMANCE_SCHEMA)
            yield db
            db.close()

Run it like any other test. Every test of the kit carries the marker
``conformance("db", section)`` (sections: ``crud``, ``conditions``, ``update``,
``query``, ``cursors``, ``index``, ``batch``, ``transactions``, ``ttl``,
``isolation``, ``input``, ``capabilities``, ``export``), so ``pytest -m conformance`` selects
the kit alone and ``pytest -m "not conformance"`` the package's own tests.

The suite reaches the provider through :class:`tenantkit.TenantDatabase`, twice:
two tenants with random ids (the second id starts with the first, so a scope made
of a bare string prefix shows up) share the one provider instance. The instance
may therefore be shared between tests and hold other data: every test works in
fresh tenants. Sections of optional capabilities are gated on
``type(database).capabilities`` both ways: a declared capability must work, an
undeclared one must raise :class:`~tenantkit.errors.Unsupported` from the wrapper
and from the raw provider method.

Class attributes a subclass may change:

* ``eventual_seconds``: how long index queries may lag behind writes (secondary
  indexes of some services are eventually consistent); 5 s by default.

The whole suite makes about 750 provider calls and the TTL section waits about
two seconds for an expiry, so it runs in well under half a minute against a real
remote database.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar, Protocol, TypeVar

import pytest

from tenantkit.cursors import CursorSigner
from tenantkit.db import (
    MAX_BATCH_ITEMS,
    MAX_QUERY_LIMIT,
    MAX_TRANSACTION_OPS,
    Database,
    DbCapability,
    IfAbsent,
    IfExists,
    IfVersion,
    IndexSpec,
    Item,
    Key,
    Page,
    Schema,
    SortKey,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
)
from tenantkit.errors import (
    ConditionFailed,
    InvalidCursor,
    InvalidKey,
    InvalidRequest,
    NotFound,
    TenantkitError,
    TransactionCanceled,
    Unsupported,
)
from tenantkit.registry import Kind
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database_export import ExportConformance, undeclared_export_calls
from tenantkit.testing.settings import SettingsOwnershipConformance

__all__ = ["CONFORMANCE_SCHEMA", "DatabaseConformance"]

T = TypeVar("T")

CONFORMANCE_SCHEMA = Schema(
    indexes=(
        IndexSpec(
            name="by_team", collection="members", partition_field="team", sort_field="joined"
        ),
        IndexSpec(name="by_email", collection="members", partition_field="email"),
    )
)
"""The secondary indexes the suite uses: one with a sort field, one without."""

_NOTES = "notes"
_MEMBERS = "members"

#: Sort keys of the query fixture: separators, case, an empty key, and code points
#: beyond the Basic Multilingual Plane (U+1F600 sorts after U+E000 by code point,
#: before it in UTF-16).
_SORT_KEYS = ["", "a", "a#1", "a#2", "a/b", "ab", "B", "b", "ba", "é", "\ue000", "😀", "z"]

_SORT_CASES = [
    SortKey(op="eq", value="a#1"),
    SortKey(op="eq", value="nothing"),
    SortKey(op="lt", value="b"),
    SortKey(op="lte", value="b"),
    SortKey(op="gt", value="b"),
    SortKey(op="gte", value="b"),
    SortKey(op="gt", value="\uffff"),
    SortKey(op="lt", value="\ue001"),
    SortKey.prefix("a"),
    SortKey.prefix("a#"),
    SortKey.prefix("\U0001f600"),
    SortKey.between("a#", "b"),
    SortKey.between("b", "a"),
]

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


def _keys(items: list[Item]) -> list[tuple[str, str]]:
    return [(item.pk, item.sk) for item in items]


def _requires(database: Database, capability: DbCapability) -> None:
    if capability not in type(database).capabilities:
        pytest.skip(f"{type(database).__name__} does not declare {capability.value!r}")


class _Fetch(Protocol):
    def __call__(self, *, cursor: str | None) -> Page: ...


def _all_pages(fetch: _Fetch, limit: int, cursor: str | None = None) -> tuple[list[Item], int]:
    """Follow cursors to the end; every page holds at most ``limit`` items."""
    items: list[Item] = []
    for pages in range(1, 1000):
        page = fetch(cursor=cursor)
        assert len(page.items) <= limit, f"page of {len(page.items)} items for limit {limit}"
        items.extend(page.items)
        if page.cursor is None:
            return items, pages
        cursor = page.cursor
    raise AssertionError("pagination did not end after 1,000 pages")


def _tamper(cursor: str) -> str:
    body, _, tag = cursor.partition(".")
    middle = len(body) // 2
    flipped = "A" if body[middle] != "A" else "B"
    return f"{body[:middle]}{flipped}{body[middle + 1 :]}.{tag}"


class DatabaseConformance(ExportConformance, SettingsOwnershipConformance):
    """The conformance suite for database providers. Supply the ``database`` fixture."""

    settings_kind: ClassVar[Kind] = "db"

    @pytest.fixture
    def settings_subject(self, database: Any) -> Any:
        """The instance whose settings ownership is checked."""
        return database

    eventual_seconds: ClassVar[float] = 5.0

    # --- fixtures -------------------------------------------------------------------

    @pytest.fixture
    def database(self) -> Database:
        """The provider under test: override this fixture in the subclass."""
        raise NotImplementedError(
            f"{type(self).__name__} must define a `database` fixture returning the provider"
        )

    @pytest.fixture
    def signer(self) -> CursorSigner:
        return CursorSigner(secrets.token_bytes(32))

    @pytest.fixture
    def tenant_ids(self) -> tuple[str, str]:
        first = f"tk{secrets.token_hex(5)}"
        return first, f"{first}-1"

    @pytest.fixture
    def db(
        self, database: Database, signer: CursorSigner, tenant_ids: tuple[str, str]
    ) -> TenantDatabase:
        """The first tenant's database."""
        return self._scoped(database, signer, tenant_ids[0])

    @pytest.fixture
    def other_db(
        self, database: Database, signer: CursorSigner, tenant_ids: tuple[str, str]
    ) -> TenantDatabase:
        """The second tenant's database, on the same provider instance."""
        return self._scoped(database, signer, tenant_ids[1])

    @staticmethod
    def _scoped(database: Database, signer: CursorSigner, tenant_id: str) -> TenantDatabase:
        provider = type(database).__name__.lower()
        return TenantDatabase(
            database,
            tenant_id=tenant_id,
            provider=provider,
            capabilities=frozenset(str(c) for c in type(database).capabilities),
            signer=signer,
            schema=CONFORMANCE_SCHEMA,
            retry=NO_RETRY,
        )

    def _eventually(self, check: Callable[[], T]) -> T:
        """Run ``check`` until it stops failing an assertion or ``eventual_seconds`` pass."""
        deadline = time.monotonic() + self.eventual_seconds
        while True:
            try:
                return check()
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    # --- items ----------------------------------------------------------------------

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
        written = db.put(_NOTES, {"pk": "p1", "sk": "s1", **fields})
        assert (written.pk, written.sk) == ("p1", "s1")
        assert written.data == fields
        assert isinstance(written.version, str)
        assert written.version
        assert written.expires_at is None
        read = db.get(_NOTES, "p1", "s1", consistent=True)
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
        assert db.get(_NOTES, "absent", consistent=True) is None
        db.put(_NOTES, {"pk": "present", "sk": "1"})
        assert db.get(_NOTES, "present", "2", consistent=True) is None
        assert db.get(_NOTES, "present", consistent=True) is None

    @_crud
    def test_sort_key_defaults_to_empty(self, db: TenantDatabase) -> None:
        written = db.put(_NOTES, {"pk": "solo", "v": 1})
        assert written.sk == ""
        read = db.get(_NOTES, "solo", consistent=True)
        assert read is not None
        assert (read.pk, read.sk, read["v"]) == ("solo", "", 1)
        assert db.get(_NOTES, "solo", "", consistent=True) == read

    @_crud
    def test_put_replaces_the_whole_item(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "p", "sk": "s", "a": 1, "b": 2})
        db.put(_NOTES, {"pk": "p", "sk": "s", "c": 3})
        read = db.get(_NOTES, "p", "s", consistent=True)
        assert read is not None
        assert read.data == {"c": 3}

    @_crud
    def test_every_write_gives_a_new_version(self, db: TenantDatabase) -> None:
        versions = [db.put(_NOTES, {"pk": "v", "n": 1}).version]
        versions.append(db.put(_NOTES, {"pk": "v", "n": 1}).version)
        versions.append(db.update(_NOTES, "v", set={"n": 2}).version)
        versions.append(db.update(_NOTES, "v", increment={"n": 1}).version)
        assert len(set(versions)) == len(versions)
        read = db.get(_NOTES, "v", consistent=True)
        assert read is not None
        assert read.version == versions[-1]

    @_crud
    def test_delete(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "d", "sk": "1"})
        db.put(_NOTES, {"pk": "d", "sk": "2"})
        assert db.delete(_NOTES, "d", "1") is True
        assert db.get(_NOTES, "d", "1", consistent=True) is None
        assert db.delete(_NOTES, "d", "1") is False
        assert db.delete(_NOTES, "never") is False
        assert db.get(_NOTES, "d", "2", consistent=True) is not None

    @_crud
    def test_collections_are_separate(self, db: TenantDatabase) -> None:
        db.put("notes", {"pk": "same", "sk": "key", "where": "notes"})
        db.put("notes_b", {"pk": "same", "sk": "key", "where": "notes_b"})
        # Names that collide when collection and key are joined without a separator.
        db.put("notes", {"pk": "_x", "where": "notes"})
        db.put("notes_", {"pk": "x", "where": "notes_"})
        for collection in ("notes", "notes_b"):
            assert _must_get(db, collection, "same", "key")["where"] == collection
        assert _must_get(db, "notes", "_x")["where"] == "notes"
        assert _must_get(db, "notes_", "x")["where"] == "notes_"
        assert db.get("notes", "x", consistent=True) is None
        assert db.get("notes_", "_x", consistent=True) is None
        assert _keys(db.query("notes", "same").items) == [("same", "key")]
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
            db.put(_NOTES, {"pk": pk, "sk": sk, "n": n})
        for n, (pk, sk) in enumerate(keys):
            read = db.get(_NOTES, pk, sk, consistent=True)
            assert read is not None, (pk, sk)
            assert (read.pk, read.sk, read["n"]) == (pk, sk, n)
            assert _keys(db.query(_NOTES, pk).items) == sorted(k for k in keys if k[0] == pk)

    @_crud
    def test_concurrent_increments_are_atomic(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "counter", "n": 0})
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(10):
                    db.update(_NOTES, "counter", increment={"n": 1})
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        read = db.get(_NOTES, "counter", consistent=True)
        assert read is not None
        assert read["n"] == 40

    # --- conditions -----------------------------------------------------------------

    @_conditions
    def test_if_absent(self, db: TenantDatabase) -> None:
        first = db.put(_NOTES, {"pk": "c", "v": 1}, condition=IfAbsent())
        with pytest.raises(ConditionFailed) as caught:
            db.put(_NOTES, {"pk": "c", "v": 2}, condition=IfAbsent())
        assert not caught.value.retryable
        assert not isinstance(caught.value, TransactionCanceled)
        read = db.get(_NOTES, "c", consistent=True)
        assert read is not None
        assert (read["v"], read.version) == (1, first.version)

    @_conditions
    def test_if_exists(self, db: TenantDatabase) -> None:
        with pytest.raises(ConditionFailed):
            db.put(_NOTES, {"pk": "c", "v": 1}, condition=IfExists())
        assert db.get(_NOTES, "c", consistent=True) is None
        db.put(_NOTES, {"pk": "c", "v": 1})
        assert db.put(_NOTES, {"pk": "c", "v": 2}, condition=IfExists()).data == {"v": 2}

    @_conditions
    def test_if_version_is_optimistic_concurrency(self, db: TenantDatabase) -> None:
        original = db.put(_NOTES, {"pk": "doc", "text": "v1"})
        # Two writers read the same version; the first wins, the second conflicts.
        mine = db.put(
            _NOTES, {"pk": "doc", "text": "mine"}, condition=IfVersion(version=original.version)
        )
        with pytest.raises(ConditionFailed):
            db.put(
                _NOTES,
                {"pk": "doc", "text": "theirs"},
                condition=IfVersion(version=original.version),
            )
        read = db.get(_NOTES, "doc", consistent=True)
        assert read is not None
        assert (read["text"], read.version) == ("mine", mine.version)
        with pytest.raises(ConditionFailed):
            db.put(_NOTES, {"pk": "missing"}, condition=IfVersion(version=original.version))
        assert db.get(_NOTES, "missing", consistent=True) is None

    @_conditions
    def test_conditional_update(self, db: TenantDatabase) -> None:
        first = db.put(_NOTES, {"pk": "u", "n": 1})
        second = db.update(_NOTES, "u", set={"n": 2}, condition=IfVersion(version=first.version))
        with pytest.raises(ConditionFailed):
            db.update(_NOTES, "u", set={"n": 3}, condition=IfVersion(version=first.version))
        with pytest.raises(ConditionFailed):
            db.update(_NOTES, "u", set={"n": 3}, condition=IfAbsent())
        read = db.get(_NOTES, "u", consistent=True)
        assert read is not None
        assert (read["n"], read.version) == (2, second.version)
        assert db.update(_NOTES, "u", set={"n": 4}, condition=IfExists())["n"] == 4

    @_conditions
    def test_conditional_delete(self, db: TenantDatabase) -> None:
        first = db.put(_NOTES, {"pk": "d", "n": 1})
        second = db.put(_NOTES, {"pk": "d", "n": 2})
        with pytest.raises(ConditionFailed):
            db.delete(_NOTES, "d", condition=IfVersion(version=first.version))
        assert db.get(_NOTES, "d", consistent=True) is not None
        with pytest.raises(ConditionFailed):
            db.delete(_NOTES, "gone", condition=IfExists())
        assert db.delete(_NOTES, "d", condition=IfVersion(version=second.version)) is True
        assert db.get(_NOTES, "d", consistent=True) is None

    @_conditions
    def test_only_one_concurrent_create_wins(self, db: TenantDatabase) -> None:
        outcomes: list[str] = []
        lock = threading.Lock()

        def create(n: int) -> None:
            try:
                db.put(_NOTES, {"pk": "race", "winner": n}, condition=IfAbsent())
                result = f"won:{n}"
            except ConditionFailed:
                result = "lost"
            except BaseException as exc:  # reported below
                result = f"error:{exc!r}"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if o.startswith("won:")]
        assert len(winners) == 1, outcomes
        assert outcomes.count("lost") == 5, outcomes
        read = db.get(_NOTES, "race", consistent=True)
        assert read is not None
        assert f"won:{read['winner']}" == winners[0]

    # --- update ---------------------------------------------------------------------

    @_update
    def test_update_set_keeps_other_fields(self, db: TenantDatabase) -> None:
        before = db.put(_NOTES, {"pk": "u", "sk": "1", "a": 1, "b": {"x": 1}})
        after = db.update(_NOTES, "u", "1", set={"b": {"y": [2]}, "c": "new"})
        assert after.data == {"a": 1, "b": {"y": [2]}, "c": "new"}
        assert after.version != before.version
        assert (after.pk, after.sk) == ("u", "1")
        assert db.get(_NOTES, "u", "1", consistent=True) == after

    @_update
    def test_update_increment(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "n", "ints": 10, "floats": 1.5, "other": "x"})
        item = db.update(_NOTES, "n", increment={"ints": 5, "floats": 0.25, "fresh": 3, "down": -2})
        assert item.data == {"ints": 15, "floats": 1.75, "fresh": 3, "down": -2, "other": "x"}
        assert type(item["ints"]) is int
        item = db.update(_NOTES, "n", increment={"ints": -20})
        assert item["ints"] == -5
        read = db.get(_NOTES, "n", consistent=True)
        assert read is not None
        assert read.data == item.data

    @_update
    @pytest.mark.parametrize("value", ["7", True, None, [1], {"n": 1}])
    def test_increment_of_a_non_number_names_the_field(
        self, db: TenantDatabase, value: Any
    ) -> None:
        before = db.put(_NOTES, {"pk": "n", "label": value, "count": 1})
        with pytest.raises(InvalidRequest, match="label"):
            db.update(_NOTES, "n", increment={"label": 1, "count": 1})
        assert db.get(_NOTES, "n", consistent=True) == before

    @_update
    def test_update_remove(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "r", "a": 1, "b": 2, "c": 3})
        item = db.update(_NOTES, "r", remove=["a", "never"])
        assert item.data == {"b": 2, "c": 3}
        item = db.update(_NOTES, "r", set={"d": 4}, increment={"b": 1}, remove=["c"])
        assert item.data == {"b": 3, "d": 4}
        assert db.get(_NOTES, "r", consistent=True) == item

    @_update
    def test_update_of_a_missing_item(self, db: TenantDatabase) -> None:
        with pytest.raises(NotFound):
            db.update(_NOTES, "missing", set={"a": 1})
        assert db.get(_NOTES, "missing", consistent=True) is None
        created = db.update(
            _NOTES, "missing", "s", set={"a": 1}, increment={"n": 2}, remove=["x"], upsert=True
        )
        assert (created.pk, created.sk, created.data) == ("missing", "s", {"a": 1, "n": 2})
        again = db.update(_NOTES, "missing", "s", increment={"n": 2}, upsert=True)
        assert again.data == {"a": 1, "n": 4}
        assert db.get(_NOTES, "missing", "s", consistent=True) == again

    @_update
    def test_upsert_with_if_absent_creates_once(self, db: TenantDatabase) -> None:
        db.update(_NOTES, "once", set={"v": 1}, upsert=True, condition=IfAbsent())
        with pytest.raises(ConditionFailed):
            db.update(_NOTES, "once", set={"v": 2}, upsert=True, condition=IfAbsent())
        read = db.get(_NOTES, "once", consistent=True)
        assert read is not None
        assert read["v"] == 1

    # --- queries --------------------------------------------------------------------

    def _fill_partition(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        for n, sk in enumerate(_SORT_KEYS):
            db.put(_NOTES, {"pk": "part", "sk": sk, "n": n})
        # Near misses that a query of ("notes", "part") must never return.
        db.put(_NOTES, {"pk": "part2", "sk": "a"})
        db.put(_NOTES, {"pk": "par", "sk": "ta"})
        db.put(_NOTES, {"pk": "Part", "sk": "a"})
        db.put("notes_other", {"pk": "part", "sk": "a"})
        other_db.put(_NOTES, {"pk": "part", "sk": "a#3"})
        other_db.put(_NOTES, {"pk": "part", "sk": "b"})

    @_query
    def test_query_returns_the_partition_in_code_point_order(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        self._fill_partition(db, other_db)
        page = db.query(_NOTES, "part")
        assert [item.sk for item in page.items] == sorted(_SORT_KEYS)
        assert page.cursor is None
        assert all(item.pk == "part" for item in page.items)
        assert page.items[0]["n"] == _SORT_KEYS.index(page.items[0].sk)
        down = db.query(_NOTES, "part", descending=True)
        assert [item.sk for item in down.items] == sorted(_SORT_KEYS, reverse=True)
        assert db.query(_NOTES, "nobody").items == []
        assert db.query(_NOTES, "nobody").cursor is None

    @_query
    def test_query_sort_conditions(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        self._fill_partition(db, other_db)
        for sort in _SORT_CASES:
            expected = sorted(sk for sk in _SORT_KEYS if sort.matches(sk))
            for descending in (False, True):
                want = expected[::-1] if descending else expected
                page = db.query(_NOTES, "part", sort=sort, descending=descending)
                got = [item.sk for item in page.items]
                assert got == want, f"{sort!r} descending={descending}"
                assert page.cursor is None
                paged, _ = _all_pages(
                    partial(db.query, _NOTES, "part", sort=sort, descending=descending, limit=3),
                    3,
                )
                assert [item.sk for item in paged] == want, f"paged {sort!r} desc={descending}"

    @_query
    def test_query_limit(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        self._fill_partition(db, other_db)
        first = db.query(_NOTES, "part", limit=3)
        assert [item.sk for item in first.items] == sorted(_SORT_KEYS)[:3]
        assert first.cursor is not None
        last = db.query(_NOTES, "part", limit=1, descending=True)
        assert [item.sk for item in last.items] == [max(_SORT_KEYS)]
        whole = db.query(_NOTES, "part", limit=len(_SORT_KEYS) + 1)
        assert len(whole.items) == len(_SORT_KEYS)
        assert whole.cursor is None
        assert len(db.query(_NOTES, "part", limit=MAX_QUERY_LIMIT).items) == len(_SORT_KEYS)

    @_query
    def test_pagination_sees_every_item_exactly_once(self, db: TenantDatabase) -> None:
        sks = [f"item#{n:03d}" for n in range(23)]
        for sk in sks:
            db.put(_NOTES, {"pk": "many", "sk": sk})
        db.put(_NOTES, {"pk": "many", "sk": "other#1"})
        for limit in (1, 4, 7, 23):
            for descending in (False, True):
                fetch = partial(
                    db.query,
                    _NOTES,
                    "many",
                    sort=SortKey.prefix("item#"),
                    descending=descending,
                    limit=limit,
                )
                items, pages = _all_pages(fetch, limit)
                got = [item.sk for item in items]
                assert got == (sks[::-1] if descending else sks), (limit, descending)
                assert pages >= -(-len(sks) // limit)
                assert pages <= -(-len(sks) // limit) + 1

    @_query
    def test_the_limit_may_change_between_pages(self, db: TenantDatabase) -> None:
        for n in range(10):
            db.put(_NOTES, {"pk": "lim", "sk": f"{n}"})
        page = db.query(_NOTES, "lim", limit=3)
        assert page.cursor is not None
        rest = db.query(_NOTES, "lim", limit=100, cursor=page.cursor)
        assert [i.sk for i in page.items + rest.items] == [f"{n}" for n in range(10)]
        assert rest.cursor is None

    @_query
    def test_pages_follow_writes_between_them(self, db: TenantDatabase) -> None:
        for sk in ("a", "b", "c", "d"):
            db.put(_NOTES, {"pk": "live", "sk": sk})
        page = db.query(_NOTES, "live", limit=2)
        assert [i.sk for i in page.items] == ["a", "b"]
        db.put(_NOTES, {"pk": "live", "sk": "bb"})
        db.delete(_NOTES, "live", "c")
        assert page.cursor is not None
        rest, _ = _all_pages(partial(db.query, _NOTES, "live", limit=2), 2, page.cursor)
        assert [i.sk for i in rest] == ["bb", "d"]

    # --- cursors --------------------------------------------------------------------

    def _first_page(self, db: TenantDatabase) -> Page:
        for n in range(5):
            db.put(_NOTES, {"pk": "cur", "sk": f"{n}"})
        page = db.query(_NOTES, "cur", limit=2)
        assert page.cursor is not None
        return page

    @_cursors
    def test_cursor_of_another_tenant_is_refused(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        page = self._first_page(db)
        for n in range(5):
            other_db.put(_NOTES, {"pk": "cur", "sk": f"{n}"})
        with pytest.raises(InvalidCursor):
            other_db.query(_NOTES, "cur", limit=2, cursor=page.cursor)

    @_cursors
    def test_tampered_cursor_is_refused(self, db: TenantDatabase) -> None:
        page = self._first_page(db)
        assert page.cursor is not None
        body, _, tag = page.cursor.partition(".")
        for bad in (
            _tamper(page.cursor),
            f"{body}.{tag[::-1]}",
            f"{body}.",
            body,
            "",
            "not a cursor",
            page.cursor + "x",
        ):
            with pytest.raises(InvalidCursor):
                db.query(_NOTES, "cur", limit=2, cursor=bad)

    @_cursors
    def test_cursor_of_another_query_is_refused(self, db: TenantDatabase) -> None:
        page = self._first_page(db)
        for n in range(5):
            db.put(_NOTES, {"pk": "cur2", "sk": f"{n}"})
            db.put("notes_b", {"pk": "cur", "sk": f"{n}"})
        other_queries: list[_Fetch] = [
            partial(db.query, _NOTES, "cur2", limit=2),
            partial(db.query, "notes_b", "cur", limit=2),
            partial(db.query, _NOTES, "cur", descending=True, limit=2),
            partial(db.query, _NOTES, "cur", sort=SortKey(op="gte", value="0"), limit=2),
        ]
        for query in other_queries:
            with pytest.raises(InvalidCursor):
                query(cursor=page.cursor)
        # The cursor still serves its own query.
        assert [i.sk for i in db.query(_NOTES, "cur", limit=2, cursor=page.cursor).items] == [
            "2",
            "3",
        ]

    # --- secondary indexes ----------------------------------------------------------

    def _fill_members(self, db: TenantDatabase, other_db: TenantDatabase) -> None:
        members: list[dict[str, Any]] = [
            {"pk": "m1", "team": "red", "joined": "2024-03", "email": "a@x"},
            {"pk": "m2", "team": "red", "joined": "2024-01", "email": "a@x"},
            {"pk": "m2", "sk": "b", "team": "red", "joined": "2024-01", "email": "a@x"},
            {"pk": "m0", "sk": "z", "team": "red", "joined": "2024-01", "email": "b@x"},
            {"pk": "m3", "team": "red", "joined": "2023-12"},
            {"pk": "m4", "team": "blue", "joined": "2024-02", "email": "a@x"},
            {"pk": "m5", "team": "reds", "joined": "2024-02"},
            {"pk": "m6", "team": "Red", "joined": "2024-02"},
            # Sparse: not a string partition or sort field, so not in by_team.
            {"pk": "s1", "joined": "2024-01", "email": 7},
            {"pk": "s2", "team": 1, "joined": "2024-01", "email": None},
            {"pk": "s3", "team": "red"},
            {"pk": "s4", "team": "red", "joined": 2024},
            {"pk": "s5", "team": ["red"], "joined": "2024-01", "email": ["a@x"]},
        ]
        for member in members:
            db.put(_MEMBERS, member)
        db.put(_NOTES, {"pk": "n1", "team": "red", "joined": "2024-01", "email": "a@x"})
        other_db.put(_MEMBERS, {"pk": "m1", "team": "red", "joined": "2024-03", "email": "a@x"})
        other_db.put(_MEMBERS, {"pk": "o1", "team": "red", "joined": "2024-02", "email": "a@x"})

    _RED: ClassVar[list[tuple[str, str]]] = [("m0", "z"), ("m2", ""), ("m2", "b"), ("m1", "")]

    @_index
    def test_index_with_sort_field(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        red = [("m3", ""), *self._RED]

        def check() -> None:
            page = db.query_index(_MEMBERS, "by_team", "red")
            assert _keys(page.items) == red
            assert page.cursor is None
            assert all(item["team"] == "red" for item in page.items)
            down = db.query_index(_MEMBERS, "by_team", "red", descending=True)
            assert _keys(down.items) == red[::-1]
            assert _keys(db.query_index(_MEMBERS, "by_team", "blue").items) == [("m4", "")]
            assert db.query_index(_MEMBERS, "by_team", "green").items == []

        self._eventually(check)

    @_index
    def test_index_sort_conditions(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        joined = {
            ("m3", ""): "2023-12",
            ("m0", "z"): "2024-01",
            ("m2", ""): "2024-01",
            ("m2", "b"): "2024-01",
            ("m1", ""): "2024-03",
        }
        cases = [
            SortKey(op="eq", value="2024-01"),
            SortKey(op="lt", value="2024-01"),
            SortKey(op="lte", value="2024-01"),
            SortKey(op="gt", value="2024-01"),
            SortKey(op="gte", value="2024-01"),
            SortKey.prefix("2024"),
            SortKey.between("2024-01", "2024-02"),
        ]

        def check() -> None:
            for sort in cases:
                want = sorted(
                    (k for k, v in joined.items() if sort.matches(v)), key=lambda k: (joined[k], k)
                )
                for descending in (False, True):
                    expected = want[::-1] if descending else want
                    page = db.query_index(
                        _MEMBERS, "by_team", "red", sort=sort, descending=descending
                    )
                    assert _keys(page.items) == expected, f"{sort!r} descending={descending}"

        self._eventually(check)

    @_index
    def test_index_without_sort_field(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)

        def check() -> None:
            page = db.query_index(_MEMBERS, "by_email", "a@x")
            assert _keys(page.items) == [("m1", ""), ("m2", ""), ("m2", "b"), ("m4", "")]
            down = db.query_index(_MEMBERS, "by_email", "a@x", descending=True)
            assert _keys(down.items) == [("m4", ""), ("m2", "b"), ("m2", ""), ("m1", "")]
            assert _keys(db.query_index(_MEMBERS, "by_email", "b@x").items) == [("m0", "z")]

        self._eventually(check)

    @_index
    def test_index_pagination(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        red = [("m3", ""), *self._RED]
        email = [("m1", ""), ("m2", ""), ("m2", "b"), ("m4", "")]

        def check() -> None:
            for index, value, want in (("by_team", "red", red), ("by_email", "a@x", email)):
                for limit in (1, 2, 3):
                    for descending in (False, True):
                        fetch = partial(
                            db.query_index,
                            _MEMBERS,
                            index,
                            value,
                            descending=descending,
                            limit=limit,
                        )
                        items, _ = _all_pages(fetch, limit)
                        expected = want[::-1] if descending else want
                        assert _keys(items) == expected, (index, limit, descending)
            sort = SortKey(op="gte", value="2024-01")
            items, _ = _all_pages(
                partial(db.query_index, _MEMBERS, "by_team", "red", sort=sort, limit=2),
                2,
            )
            assert _keys(items) == self._RED

        self._eventually(check)

    @_index
    def test_index_follows_writes(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)
        db.update(_MEMBERS, "m1", set={"team": "blue"})
        db.update(_MEMBERS, "m2", "b", remove=["team"])
        db.delete(_MEMBERS, "m0", "z")
        db.update(_MEMBERS, "s3", set={"joined": "2025-01"})
        db.update(_MEMBERS, "s4", set={"joined": "2022-01"})
        db.put(_MEMBERS, {"pk": "m3", "team": "red", "joined": "2024-06"})

        def check() -> None:
            red = db.query_index(_MEMBERS, "by_team", "red").items
            assert _keys(red) == [("s4", ""), ("m2", ""), ("m3", ""), ("s3", "")]
            blue = db.query_index(_MEMBERS, "by_team", "blue").items
            assert _keys(blue) == [("m4", ""), ("m1", "")]
            assert [item.version for item in red] == [
                _must_get(db, _MEMBERS, pk, sk).version for pk, sk in _keys(red)
            ]

        self._eventually(check)

    @_index
    def test_index_cursors_are_bound_to_their_query(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.INDEXES)
        self._fill_members(db, other_db)

        def first() -> Page:
            page = db.query_index(_MEMBERS, "by_team", "red", limit=2)
            assert page.cursor is not None
            return page

        page = self._eventually(first)
        assert page.cursor is not None
        with pytest.raises(InvalidCursor):
            db.query_index(_MEMBERS, "by_team", "blue", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(_MEMBERS, "by_email", "red", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(_MEMBERS, "by_team", "red", descending=True, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query(_MEMBERS, "red", limit=2, cursor=page.cursor)
        with pytest.raises(InvalidCursor):
            db.query_index(_MEMBERS, "by_team", "red", limit=2, cursor=_tamper(page.cursor))
        with pytest.raises(InvalidCursor):
            other_db.query_index(_MEMBERS, "by_team", "red", limit=2, cursor=page.cursor)

    @_index
    def test_index_input_errors(self, database: Database, db: TenantDatabase) -> None:
        _requires(database, DbCapability.INDEXES)
        with pytest.raises(InvalidRequest, match="by_nothing"):
            db.query_index(_MEMBERS, "by_nothing", "red")
        with pytest.raises(InvalidRequest, match="by_team"):
            db.query_index(_NOTES, "by_team", "red")
        with pytest.raises(InvalidRequest, match="by_email"):
            db.query_index(_MEMBERS, "by_email", "a@x", sort=SortKey.prefix("a"))
        with pytest.raises(InvalidKey, match="team"):
            db.query_index(_MEMBERS, "by_team", "r\x00ed")
        with pytest.raises(InvalidRequest, match="limit"):
            db.query_index(_MEMBERS, "by_team", "red", limit=0)

    # --- batches --------------------------------------------------------------------

    @_batch
    def test_batch_put_and_get_100_items_in_request_order(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.BATCH)
        keys = [(f"b{n % 7}", f"{n:03d}") for n in range(MAX_BATCH_ITEMS)]
        db.batch_put(_NOTES, [{"pk": pk, "sk": sk, "n": int(sk)} for pk, sk in keys])
        order = keys[1::2] + keys[::2][::-1]
        found = db.batch_get(_NOTES, order)
        assert _keys(found) == order
        assert [item["n"] for item in found] == [int(sk) for _, sk in order]
        assert len({item.version for item in found}) == MAX_BATCH_ITEMS
        read = db.get(_NOTES, "b3", "010", consistent=True)
        assert read is not None
        assert read["n"] == 10

    @_batch
    def test_batch_get_leaves_out_missing_keys(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.BATCH)
        db.batch_put(_NOTES, [{"pk": "x", "sk": str(n), "n": n} for n in range(5)])
        wanted = [Key(pk="x", sk="4"), Key(pk="x", sk="nope"), Key(pk="x", sk="1"), Key(pk="y")]
        assert _keys(db.batch_get(_NOTES, wanted)) == [("x", "4"), ("x", "1")]
        assert db.batch_get(_NOTES, [("nobody", "")]) == []
        assert db.batch_get("notes_b", [("x", "1")]) == []
        assert db.batch_get(_NOTES, []) == []

    @_batch
    def test_batch_put_replaces_items(self, database: Database, db: TenantDatabase) -> None:
        _requires(database, DbCapability.BATCH)
        old = db.put(_NOTES, {"pk": "r", "a": 1, "b": 2})
        db.batch_put(_NOTES, [{"pk": "r", "c": 3}, {"pk": "s", "sk": "1", "d": 4}])
        db.batch_put(_NOTES, [])
        found = db.batch_get(_NOTES, [("r", ""), ("s", "1")])
        assert [item.data for item in found] == [{"c": 3}, {"d": 4}]
        assert found[0].version != old.version
        assert found[0].sk == ""

    @_batch
    def test_batch_limits_and_bad_items(self, database: Database, db: TenantDatabase) -> None:
        _requires(database, DbCapability.BATCH)
        too_many = [{"pk": f"k{n}"} for n in range(MAX_BATCH_ITEMS + 1)]
        with pytest.raises(InvalidRequest, match=str(MAX_BATCH_ITEMS)):
            db.batch_put(_NOTES, too_many)
        with pytest.raises(InvalidRequest, match=str(MAX_BATCH_ITEMS)):
            db.batch_get(_NOTES, [(f"k{n}", "") for n in range(MAX_BATCH_ITEMS + 1)])
        with pytest.raises(InvalidRequest, match="bad-name"):
            db.batch_put(_NOTES, [{"pk": "ok1"}, {"pk": "ok2", "bad-name": 1}])
        with pytest.raises(InvalidKey, match="sk"):
            db.batch_put(_NOTES, [{"pk": "ok1"}, {"pk": "ok2", "sk": "a\x00"}])
        with pytest.raises(InvalidKey, match="pk"):
            db.batch_get(_NOTES, [("ok1", ""), ("o\x00k", "")])
        assert db.batch_get(_NOTES, [("ok1", ""), ("ok2", ""), ("k0", "")]) == []

    # --- transactions ---------------------------------------------------------------

    @_tx
    def test_transaction_applies_every_operation(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TRANSACTIONS)
        kept = db.put(_NOTES, {"pk": "acct", "sk": "a", "balance": 10})
        db.put(_NOTES, {"pk": "acct", "sk": "b", "balance": 0})
        db.put(_NOTES, {"pk": "old"})
        db.put("notes_b", {"pk": "guard", "v": 1})
        guard = _must_get(db, "notes_b", "guard")
        db.transact_write(
            [
                TxUpdate(
                    collection=_NOTES,
                    key=Key(pk="acct", sk="a"),
                    increment={"balance": -4},
                    condition=IfVersion(version=kept.version),
                ),
                TxUpdate(collection=_NOTES, key=Key(pk="acct", sk="b"), increment={"balance": 4}),
                TxPut(
                    collection=_NOTES,
                    item={"pk": "log", "sk": "1", "amount": 4},
                    condition=IfAbsent(),
                ),
                TxDelete(collection=_NOTES, key=Key(pk="old"), condition=IfExists()),
                TxCheck(
                    collection="notes_b",
                    key=Key(pk="guard"),
                    condition=IfVersion(version=guard.version),
                ),
                TxUpdate(collection=_NOTES, key=Key(pk="new"), set={"v": 1}, upsert=True),
            ]
        )
        assert _must_get(db, _NOTES, "acct", "a")["balance"] == 6
        assert _must_get(db, _NOTES, "acct", "b")["balance"] == 4
        assert _must_get(db, _NOTES, "log", "1").data == {"amount": 4}
        assert db.get(_NOTES, "old", consistent=True) is None
        assert _must_get(db, _NOTES, "new").data == {"v": 1}
        assert _must_get(db, "notes_b", "guard").version == guard.version
        assert _must_get(db, _NOTES, "acct", "a").version != kept.version

    @_tx
    def test_failed_transaction_applies_nothing(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TRANSACTIONS)
        stale = db.put(_NOTES, {"pk": "acct", "balance": 10})
        current = db.put(_NOTES, {"pk": "acct", "balance": 11})
        db.put(_NOTES, {"pk": "victim", "v": 1})
        before = {k: _must_get(db, _NOTES, k) for k in ("acct", "victim")}
        ops: list[TxOp] = [
            TxUpdate(collection=_NOTES, key=Key(pk="acct"), increment={"balance": -5}),
            TxPut(collection=_NOTES, item={"pk": "fresh", "v": 1}),
            TxDelete(collection=_NOTES, key=Key(pk="victim")),
            TxCheck(collection=_NOTES, key=Key(pk="guard"), condition=IfExists()),
            TxUpdate(collection="notes_b", key=Key(pk="made"), set={"v": 1}, upsert=True),
        ]
        with pytest.raises(TransactionCanceled) as caught:
            db.transact_write(ops)
        assert isinstance(caught.value, ConditionFailed)
        assert caught.value.reasons == [None, None, None, "ConditionalCheckFailed", None]
        assert caught.value.failed_indexes == [3]
        assert {k: _must_get(db, _NOTES, k) for k in ("acct", "victim")} == before
        assert db.get(_NOTES, "fresh", consistent=True) is None
        assert db.get("notes_b", "made", consistent=True) is None
        assert before["acct"].version == current.version != stale.version

    @_tx
    def test_transaction_reasons_name_every_failed_operation(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TRANSACTIONS)
        stale = db.put(_NOTES, {"pk": "a", "n": 1})
        db.put(_NOTES, {"pk": "a", "n": 2})
        db.put(_NOTES, {"pk": "b"})
        ops: list[TxOp] = [
            TxPut(collection=_NOTES, item={"pk": "b"}, condition=IfAbsent()),
            TxPut(collection=_NOTES, item={"pk": "c"}),
            TxUpdate(
                collection=_NOTES,
                key=Key(pk="a"),
                set={"n": 9},
                condition=IfVersion(version=stale.version),
            ),
            TxDelete(collection=_NOTES, key=Key(pk="d"), condition=IfExists()),
            TxUpdate(collection=_NOTES, key=Key(pk="missing"), set={"n": 1}),
        ]
        with pytest.raises(TransactionCanceled) as caught:
            db.transact_write(ops)
        reasons = caught.value.reasons
        assert len(reasons) == len(ops)
        assert reasons[:4] == [
            "ConditionalCheckFailed",
            None,
            "ConditionalCheckFailed",
            "ConditionalCheckFailed",
        ]
        assert reasons[4] is not None
        assert db.get(_NOTES, "c", consistent=True) is None
        assert _must_get(db, _NOTES, "a")["n"] == 2

    @_tx
    def test_transaction_with_a_bad_increment_applies_nothing(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TRANSACTIONS)
        db.put(_NOTES, {"pk": "a", "label": "text"})
        with pytest.raises(TenantkitError) as caught:
            db.transact_write(
                [
                    TxPut(collection=_NOTES, item={"pk": "b"}),
                    TxUpdate(collection=_NOTES, key=Key(pk="a"), increment={"label": 1}),
                ]
            )
        assert isinstance(caught.value, TransactionCanceled | InvalidRequest)
        if isinstance(caught.value, TransactionCanceled):
            assert caught.value.reasons[0] is None
            assert caught.value.reasons[1] is not None
        assert db.get(_NOTES, "b", consistent=True) is None

    @_tx
    def test_transaction_input_errors(self, database: Database, db: TenantDatabase) -> None:
        _requires(database, DbCapability.TRANSACTIONS)
        too_many = [
            TxPut(collection=_NOTES, item={"pk": f"k{n}"}) for n in range(MAX_TRANSACTION_OPS + 1)
        ]
        with pytest.raises(InvalidRequest, match=str(MAX_TRANSACTION_OPS)):
            db.transact_write(too_many)
        bad_ops: list[tuple[list[TxOp], type[Exception], str]] = [
            ([TxPut(collection="Bad", item={"pk": "k"})], InvalidRequest, "'Bad'"),
            ([TxPut(collection=_NOTES, item={"pk": "k", "a-b": 1})], InvalidRequest, "a-b"),
            ([TxPut(collection=_NOTES, item={"pk": "k", "v": b"x"})], InvalidRequest, "v"),
            ([TxDelete(collection=_NOTES, key=Key(pk="k\x00"))], InvalidKey, "pk"),
            ([TxUpdate(collection=_NOTES, key=Key(pk="k"))], InvalidRequest, "update"),
            ([TxUpdate(collection=_NOTES, key=Key(pk="k"), set={"sk": 1})], InvalidRequest, "'sk'"),
        ]
        for ops, error, name in bad_ops:
            with pytest.raises(error, match=name):
                db.transact_write([TxPut(collection=_NOTES, item={"pk": "first"}), *ops])
        assert db.get(_NOTES, "first", consistent=True) is None
        assert db.get(_NOTES, "k0", consistent=True) is None

    # --- TTL (sleeps about two seconds) -----------------------------------------------

    @_ttl
    def test_ttl_sets_an_expiry_that_updates_keep(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TTL)
        start = time.time()
        item = db.put(_NOTES, {"pk": "t", "v": 1}, ttl=600)
        assert item.expires_at is not None
        assert start + 599 <= item.expires_at <= time.time() + 602
        assert _must_get(db, _NOTES, "t").expires_at == item.expires_at
        updated = db.update(_NOTES, "t", set={"v": 2})
        assert updated.expires_at == item.expires_at
        extended = db.update(_NOTES, "t", set={"v": 3}, ttl=3600)
        assert extended.expires_at is not None
        assert start + 3599 <= extended.expires_at <= time.time() + 3602
        assert _must_get(db, _NOTES, "t").expires_at == extended.expires_at
        forever = db.put(_NOTES, {"pk": "t", "v": 4})
        assert forever.expires_at is None
        assert _must_get(db, _NOTES, "t").expires_at is None
        made = db.update(_NOTES, "u", set={"v": 1}, upsert=True, ttl=60)
        assert made.expires_at is not None
        assert start + 59 <= made.expires_at <= time.time() + 62

    @_ttl
    def test_expired_items_are_invisible_everywhere(
        self, database: Database, db: TenantDatabase
    ) -> None:
        _requires(database, DbCapability.TTL)
        capabilities = type(database).capabilities
        start = time.time()
        db.put(_NOTES, {"pk": "exp", "sk": "put"}, ttl=1)
        db.put(_NOTES, {"pk": "exp", "sk": "update"})
        db.update(_NOTES, "exp", "update", set={"v": 1}, ttl=1)
        db.put(_NOTES, {"pk": "exp", "sk": "stays"})
        db.put(_NOTES, {"pk": "exp", "sk": "long"}, ttl=600)
        if DbCapability.TRANSACTIONS in capabilities:
            db.transact_write([TxPut(collection=_NOTES, item={"pk": "exp", "sk": "tx"}, ttl=1)])
        if DbCapability.INDEXES in capabilities:
            db.put(_MEMBERS, {"pk": "gone", "team": "ttl", "joined": "1", "email": "t@x"}, ttl=1)
            db.put(_MEMBERS, {"pk": "kept", "team": "ttl", "joined": "2", "email": "t@x"})
        alive = {"stays", "long"}
        assert {i.sk for i in db.query(_NOTES, "exp").items} >= alive | {"put", "update"}
        assert _must_get(db, _NOTES, "exp", "put").expires_at is not None

        def expired() -> None:
            assert db.get(_NOTES, "exp", "put", consistent=True) is None
            assert db.get(_NOTES, "exp", "update", consistent=True) is None
            assert db.get(_NOTES, "exp", "tx", consistent=True) is None
            assert {i.sk for i in db.query(_NOTES, "exp").items} == alive
            paged, _ = _all_pages(partial(db.query, _NOTES, "exp", limit=1), 1)
            assert [i.sk for i in paged] == sorted(alive)
            if DbCapability.BATCH in capabilities:
                found = db.batch_get(_NOTES, [("exp", "put"), ("exp", "stays"), ("exp", "tx")])
                assert _keys(found) == [("exp", "stays")]
            if DbCapability.INDEXES in capabilities:
                assert _keys(db.query_index(_MEMBERS, "by_team", "ttl").items) == [("kept", "")]
                assert _keys(db.query_index(_MEMBERS, "by_email", "t@x").items) == [("kept", "")]

        # Expiry has whole-second resolution on some services: allow one extra second.
        deadline = start + 1 + 1.5 + self.eventual_seconds
        while True:
            try:
                expired()
                break
            except AssertionError:
                if time.time() > deadline:
                    raise
                time.sleep(0.25)
        # An expired item is absent to every write as well.
        assert db.delete(_NOTES, "exp", "put") is False
        with pytest.raises(NotFound):
            db.update(_NOTES, "exp", "update", set={"v": 2})
        with pytest.raises(ConditionFailed):
            db.put(_NOTES, {"pk": "exp", "sk": "tx"}, condition=IfExists())
        again = db.put(_NOTES, {"pk": "exp", "sk": "tx", "v": 2}, condition=IfAbsent())
        assert again.expires_at is None
        assert _must_get(db, _NOTES, "exp", "tx").data == {"v": 2}
        revived = db.update(_NOTES, "exp", "update", set={"v": 3}, upsert=True)
        assert revived.data == {"v": 3}

    @_ttl
    @pytest.mark.parametrize("ttl", [0, -1, True, "60", float("nan"), float("inf")])
    def test_bad_ttl(self, database: Database, db: TenantDatabase, ttl: Any) -> None:
        _requires(database, DbCapability.TTL)
        with pytest.raises(InvalidRequest, match="ttl"):
            db.put(_NOTES, {"pk": "t"}, ttl=ttl)
        with pytest.raises(InvalidRequest, match="ttl"):
            db.update(_NOTES, "t", set={"v": 1}, upsert=True, ttl=ttl)
        assert db.get(_NOTES, "t", consistent=True) is None

    # --- isolation between tenants --------------------------------------------------

    @_isolation
    def test_same_key_in_two_tenants_is_two_items(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        mine = db.put(_NOTES, {"pk": "shared", "sk": "k", "owner": "first"})
        assert other_db.get(_NOTES, "shared", "k", consistent=True) is None
        theirs = other_db.put(_NOTES, {"pk": "shared", "sk": "k", "owner": "second"})
        assert theirs.version != mine.version
        assert _must_get(db, _NOTES, "shared", "k") == mine
        assert _must_get(other_db, _NOTES, "shared", "k") == theirs
        assert other_db.delete(_NOTES, "shared", "k") is True
        assert _must_get(db, _NOTES, "shared", "k") == mine
        assert other_db.delete(_NOTES, "shared", "k") is False
        assert _must_get(db, _NOTES, "shared", "k") == mine

    @_isolation
    def test_other_tenant_cannot_change_items(
        self, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        mine = db.put(_NOTES, {"pk": "p", "sk": "s", "n": 1})
        with pytest.raises(NotFound):
            other_db.update(_NOTES, "p", "s", increment={"n": 1})
        with pytest.raises(ConditionFailed):
            other_db.put(_NOTES, {"pk": "p", "sk": "s"}, condition=IfVersion(version=mine.version))
        with pytest.raises(ConditionFailed):
            other_db.put(_NOTES, {"pk": "p", "sk": "s"}, condition=IfExists())
        with pytest.raises(ConditionFailed):
            other_db.delete(_NOTES, "p", "s", condition=IfVersion(version=mine.version))
        assert other_db.delete(_NOTES, "p", "s") is False
        created = other_db.put(_NOTES, {"pk": "p", "sk": "s", "n": 100}, condition=IfAbsent())
        upserted = other_db.update(_NOTES, "p", "s", increment={"n": 1}, upsert=True)
        assert upserted["n"] == 101
        assert created.version != mine.version
        assert _must_get(db, _NOTES, "p", "s") == mine
        assert db.query(_NOTES, "p").items == [mine]

    @_isolation
    def test_other_tenant_lists_nothing(
        self, database: Database, db: TenantDatabase, other_db: TenantDatabase
    ) -> None:
        caps = type(database).capabilities
        for n in range(3):
            db.put(_NOTES, {"pk": "list", "sk": f"{n}"})
        db.put(_MEMBERS, {"pk": "m", "team": "iso", "joined": "1", "email": "iso@x"})
        assert other_db.query(_NOTES, "list").items == []
        assert other_db.query(_NOTES, "list", sort=SortKey(op="gte", value="0")).items == []
        if DbCapability.BATCH in caps:
            assert other_db.batch_get(_NOTES, [("list", "0"), ("list", "1")]) == []
        if DbCapability.INDEXES in caps:

            def indexed() -> None:
                assert _keys(db.query_index(_MEMBERS, "by_team", "iso").items) == [("m", "")]

            self._eventually(indexed)
            assert other_db.query_index(_MEMBERS, "by_team", "iso").items == []
            assert other_db.query_index(_MEMBERS, "by_email", "iso@x").items == []
        if DbCapability.TRANSACTIONS in caps:
            with pytest.raises(TransactionCanceled) as caught:
                other_db.transact_write(
                    [
                        TxPut(collection=_NOTES, item={"pk": "list", "sk": "9"}),
                        TxCheck(
                            collection=_NOTES, key=Key(pk="list", sk="0"), condition=IfExists()
                        ),
                    ]
                )
            assert caught.value.reasons == [None, "ConditionalCheckFailed"]
            other_db.transact_write(
                [
                    TxPut(
                        collection=_NOTES,
                        item={"pk": "list", "sk": "0", "other": True},
                        condition=IfAbsent(),
                    )
                ]
            )
            assert "other" not in _must_get(db, _NOTES, "list", "0").data
        if DbCapability.BATCH in caps:
            other_db.batch_put(_NOTES, [{"pk": "list", "sk": "1", "other": True}])
            assert "other" not in _must_get(db, _NOTES, "list", "1").data
        assert [i.sk for i in db.query(_NOTES, "list").items] == ["0", "1", "2"]

    # --- bad input ------------------------------------------------------------------

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
                partial(db.get, _NOTES, pk, sk),
                partial(db.put, _NOTES, {"pk": pk, "sk": sk}),
                partial(db.update, _NOTES, pk, sk, set={"a": 1}),
                partial(db.delete, _NOTES, pk, sk),
            ]
            for call in calls:
                with pytest.raises(InvalidKey) as caught:
                    call()
                assert field in str(caught.value)
        with pytest.raises(InvalidKey, match="pk"):
            db.query(_NOTES, "a\x00")
        with pytest.raises(InvalidRequest, match="pk"):
            db.put(_NOTES, {"sk": "no pk"})
        with pytest.raises(InvalidRequest, match="mapping"):
            db.put(_NOTES, [("pk", "x")])  # type: ignore[arg-type]

    @_input
    @pytest.mark.parametrize("name", _BAD_FIELDS)
    def test_bad_field_names(self, db: TenantDatabase, name: str) -> None:
        db.put(_NOTES, {"pk": "f", "n": 1})
        calls: list[Callable[[], object]] = [
            lambda: db.update(_NOTES, "f", set={name: 1}),
            lambda: db.update(_NOTES, "f", increment={name: 1}),
            lambda: db.update(_NOTES, "f", remove=[name]),
        ]
        if name not in ("pk", "sk"):
            calls.append(lambda: db.put(_NOTES, {"pk": "g", name: 1}))
        for call in calls:
            with pytest.raises(InvalidRequest) as caught:
                call()
            assert repr(name) in str(caught.value)
        assert db.get(_NOTES, "g", consistent=True) is None
        assert _must_get(db, _NOTES, "f").data == {"n": 1}

    @_input
    @pytest.mark.parametrize(("value", "path"), _BAD_VALUES)
    def test_non_json_values(self, db: TenantDatabase, value: Any, path: str) -> None:
        with pytest.raises(InvalidRequest) as caught:
            db.put(_NOTES, {"pk": "j", "field": value})
        assert path in str(caught.value)
        with pytest.raises(InvalidRequest) as caught:
            db.update(_NOTES, "j", set={"field": value}, upsert=True)
        assert path in str(caught.value)
        assert db.get(_NOTES, "j", consistent=True) is None

    @_input
    def test_bad_update_requests(self, db: TenantDatabase) -> None:
        db.put(_NOTES, {"pk": "u", "n": 1})
        with pytest.raises(InvalidRequest, match="at least one"):
            db.update(_NOTES, "u")
        with pytest.raises(InvalidRequest, match="once"):
            db.update(_NOTES, "u", set={"n": 2}, remove=["n"])
        for amount in ("1", True, None, float("inf")):
            with pytest.raises(InvalidRequest, match=r"\bn\b"):
                db.update(_NOTES, "u", increment={"n": amount})  # type: ignore[dict-item]
        assert _must_get(db, _NOTES, "u").data == {"n": 1}

    @_input
    @pytest.mark.parametrize("limit", [0, -1, MAX_QUERY_LIMIT + 1, True, 2.0, "10"])
    def test_limit_out_of_range(self, db: TenantDatabase, limit: Any) -> None:
        with pytest.raises(InvalidRequest, match="limit"):
            db.query(_NOTES, "p", limit=limit)

    @_input
    def test_bad_sort_conditions(self, db: TenantDatabase) -> None:
        with pytest.raises(InvalidRequest, match="upper"):
            db.query(_NOTES, "p", sort=SortKey(op="between", value="a"))
        with pytest.raises(InvalidKey, match=r"sort\.value"):
            db.query(_NOTES, "p", sort=SortKey(op="eq", value="a\x00"))
        with pytest.raises(InvalidKey, match=r"sort\.upper"):
            db.query(_NOTES, "p", sort=SortKey.between("a", "b\x00"))

    # --- capabilities, both ways ----------------------------------------------------

    @_capabilities
    @pytest.mark.parametrize("capability", list(DbCapability))
    def test_declared_capability_is_implemented(
        self, database: Database, capability: DbCapability
    ) -> None:
        declared = type(database).capabilities
        assert all(isinstance(c, DbCapability) for c in declared)
        if capability not in declared:
            pytest.skip(f"{capability.value!r} not declared")
        methods = {
            DbCapability.BATCH: ("batch_get", "batch_put"),
            DbCapability.INDEXES: ("query_index",),
            DbCapability.TRANSACTIONS: ("transact_write",),
            DbCapability.TTL: (),
            DbCapability.EXPORT: ("scan_namespace", "restore"),
        }[capability]
        for method in methods:
            assert getattr(type(database), method) is not getattr(Database, method), method

    @_capabilities
    @pytest.mark.parametrize("capability", list(DbCapability))
    def test_undeclared_capability_is_unsupported(
        self,
        database: Database,
        db: TenantDatabase,
        tenant_ids: tuple[str, str],
        capability: DbCapability,
    ) -> None:
        if capability in type(database).capabilities:
            pytest.skip(f"{capability.value!r} is declared")
        ns = tenant_ids[0]
        index = CONFORMANCE_SCHEMA.indexes[0]
        wrapped: list[Callable[[], object]]
        raw: list[Callable[[], object]]
        match capability:
            case DbCapability.BATCH:
                wrapped = [
                    lambda: db.batch_get(_NOTES, [("a", "")]),
                    lambda: db.batch_put(_NOTES, [{"pk": "a"}]),
                ]
                raw = [
                    lambda: database.batch_get(ns, _NOTES, [Key(pk="a")]),
                    lambda: database.batch_put(ns, _NOTES, [{"pk": "a", "sk": ""}]),
                ]
            case DbCapability.INDEXES:
                wrapped = [lambda: db.query_index(_MEMBERS, index.name, "red")]
                raw = [lambda: database.query_index(ns, index, "red")]
            case DbCapability.TRANSACTIONS:
                tx: list[TxOp] = [TxPut(collection=_NOTES, item={"pk": "a", "sk": ""})]
                wrapped = [lambda: db.transact_write(tx)]
                raw = [lambda: database.transact_write(ns, tx)]
            case DbCapability.TTL:
                wrapped = [
                    lambda: db.put(_NOTES, {"pk": "a"}, ttl=60),
                    lambda: db.update(_NOTES, "a", set={"v": 1}, upsert=True, ttl=60),
                    lambda: db.transact_write([TxPut(collection=_NOTES, item={"pk": "a"}, ttl=60)]),
                ]
                raw = [
                    lambda: database.put(ns, _NOTES, {"pk": "a", "sk": ""}, ttl=60),
                    lambda: database.update(
                        ns, _NOTES, Key(pk="a"), set={"v": 1}, upsert=True, ttl=60
                    ),
                ]
            case DbCapability.EXPORT:
                wrapped, raw = undeclared_export_calls(database, db, ns)
        for call in [*wrapped, *raw]:
            with pytest.raises(Unsupported):
                call()
        assert db.get(_NOTES, "a", consistent=True) is None


def _must_get(db: TenantDatabase, collection: str, pk: str, sk: str = "") -> Item:
    """The item at (pk, sk), read consistently; fails the test when it is absent."""
    item = db.get(collection, pk, sk, consistent=True)
    assert item is not None, f"{collection}[{pk!r}, {sk!r}] is missing"
    return item
