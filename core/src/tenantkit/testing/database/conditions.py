"""Conditional writes: ``IfAbsent``, ``IfExists``, ``IfVersion``."""

from __future__ import annotations

import threading

import pytest

from tenantkit.db import IfAbsent, IfExists, IfVersion
from tenantkit.errors import ConditionFailed, TransactionCanceled
from tenantkit.scoped import TenantDatabase
from tenantkit.testing.database._support import NOTES, DatabaseSuite

_conditions = pytest.mark.conformance("db", "conditions")


class ConditionTests(DatabaseSuite):
    """Conditional writes: ``IfAbsent``, ``IfExists``, ``IfVersion``."""

    @_conditions
    def test_if_absent(self, db: TenantDatabase) -> None:
        first = db.put(NOTES, {"pk": "c", "v": 1}, condition=IfAbsent())
        with pytest.raises(ConditionFailed) as caught:
            db.put(NOTES, {"pk": "c", "v": 2}, condition=IfAbsent())
        assert not caught.value.retryable
        assert not isinstance(caught.value, TransactionCanceled)
        read = db.get(NOTES, "c", consistent=True)
        assert read is not None
        assert (read["v"], read.version) == (1, first.version)

    @_conditions
    def test_if_exists(self, db: TenantDatabase) -> None:
        with pytest.raises(ConditionFailed):
            db.put(NOTES, {"pk": "c", "v": 1}, condition=IfExists())
        assert db.get(NOTES, "c", consistent=True) is None
        db.put(NOTES, {"pk": "c", "v": 1})
        assert db.put(NOTES, {"pk": "c", "v": 2}, condition=IfExists()).data == {"v": 2}

    @_conditions
    def test_if_version_is_optimistic_concurrency(self, db: TenantDatabase) -> None:
        original = db.put(NOTES, {"pk": "doc", "text": "v1"})
        # Two writers read the same version; the first wins, the second conflicts.
        mine = db.put(
            NOTES, {"pk": "doc", "text": "mine"}, condition=IfVersion(version=original.version)
        )
        with pytest.raises(ConditionFailed):
            db.put(
                NOTES,
                {"pk": "doc", "text": "theirs"},
                condition=IfVersion(version=original.version),
            )
        read = db.get(NOTES, "doc", consistent=True)
        assert read is not None
        assert (read["text"], read.version) == ("mine", mine.version)
        with pytest.raises(ConditionFailed):
            db.put(NOTES, {"pk": "missing"}, condition=IfVersion(version=original.version))
        assert db.get(NOTES, "missing", consistent=True) is None

    @_conditions
    def test_conditional_update(self, db: TenantDatabase) -> None:
        first = db.put(NOTES, {"pk": "u", "n": 1})
        second = db.update(NOTES, "u", set={"n": 2}, condition=IfVersion(version=first.version))
        with pytest.raises(ConditionFailed):
            db.update(NOTES, "u", set={"n": 3}, condition=IfVersion(version=first.version))
        with pytest.raises(ConditionFailed):
            db.update(NOTES, "u", set={"n": 3}, condition=IfAbsent())
        read = db.get(NOTES, "u", consistent=True)
        assert read is not None
        assert (read["n"], read.version) == (2, second.version)
        assert db.update(NOTES, "u", set={"n": 4}, condition=IfExists())["n"] == 4

    @_conditions
    def test_conditional_delete(self, db: TenantDatabase) -> None:
        first = db.put(NOTES, {"pk": "d", "n": 1})
        second = db.put(NOTES, {"pk": "d", "n": 2})
        with pytest.raises(ConditionFailed):
            db.delete(NOTES, "d", condition=IfVersion(version=first.version))
        assert db.get(NOTES, "d", consistent=True) is not None
        with pytest.raises(ConditionFailed):
            db.delete(NOTES, "gone", condition=IfExists())
        assert db.delete(NOTES, "d", condition=IfVersion(version=second.version)) is True
        assert db.get(NOTES, "d", consistent=True) is None

    @_conditions
    def test_only_one_concurrent_create_wins(self, db: TenantDatabase) -> None:
        outcomes: list[str] = []
        lock = threading.Lock()

        def create(n: int) -> None:
            try:
                db.put(NOTES, {"pk": "race", "winner": n}, condition=IfAbsent())
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
        read = db.get(NOTES, "race", consistent=True)
        assert read is not None
        assert f"won:{read['winner']}" == winners[0]
