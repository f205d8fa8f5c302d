"""Two tenants interleave random operations on one database, checked against a model.

The machine runs on sqlite here; a provider package runs it on its own provider by
subclassing :class:`TwoTenants` and overriding :meth:`TwoTenants.make_provider`.

Both tenants use the same collections, partition keys and sort keys, their ids are
prefix-related (``acme`` and ``acme-1``), and conditional writes sometimes present
the *other* tenant's item version. Every answer is compared with a per-tenant
model, every item read must carry its own tenant as ``owner``, and after every
step the whole of both tenants' data is listed and compared: a cross-tenant read,
listing or overwrite shows up as a difference.
"""

from __future__ import annotations

from typing import Any

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from tenantkit.cursors import CursorSigner
from tenantkit.db import (
    Condition,
    Database,
    IfAbsent,
    IfExists,
    IfVersion,
    IndexSpec,
    Item,
    Key,
    Schema,
    TxCheck,
    TxDelete,
    TxOp,
    TxPut,
    TxUpdate,
)
from tenantkit.errors import (
    ConditionFailed,
    InvalidCursor,
    InvalidRequest,
    NotFound,
    TransactionCanceled,
)
from tenantkit.providers.sqlite import SqliteDatabase, SqliteSettings
from tenantkit.registry import ProviderContext
from tenantkit.retry import NO_RETRY
from tenantkit.scoped import TenantDatabase

TENANTS = ("acme", "acme-1")
COLLECTIONS = ("notes", "members")
PKS = ("a", "b", "a#b")
SKS = ("", "1", "2", "1#x")
SCHEMA = Schema(
    indexes=(
        IndexSpec(name="by_team", collection="members", partition_field="team"),
        IndexSpec(name="by_team_at", collection="members", partition_field="team", sort_field="at"),
    )
)
CAPS = frozenset({"transactions", "batch", "indexes", "ttl"})

Address = tuple[str, str, str]  # (collection, pk, sk)
Stored = tuple[dict[str, Any], str]  # (data, version)

tenants = st.sampled_from(TENANTS)
addresses = st.tuples(st.sampled_from(COLLECTIONS), st.sampled_from(PKS), st.sampled_from(SKS))
teams = st.sampled_from(["red", "blue"])
ats = st.one_of(st.sampled_from(["1", "2", "10"]), st.just(5))
_MISSING = object()
fields = st.fixed_dictionaries(
    {
        "team": st.one_of(teams, st.just(_MISSING)),
        "at": st.one_of(st.sampled_from(["1", "2", "10"]), st.just(_MISSING), st.just(5)),
    },
    optional={
        "n": st.one_of(st.integers(-5, 5), st.just("x")),
        "text": st.text(alphabet="ab#é", max_size=3),
    },
).map(lambda d: {k: v for k, v in d.items() if v is not _MISSING})
updates = st.fixed_dictionaries(
    {},
    optional={"team": teams, "at": ats, "text": st.text(alphabet="ab", max_size=2)},
)
removals = st.lists(st.sampled_from(["team", "at", "text"]), max_size=2, unique=True)
condition_kinds = st.sampled_from(["none", "absent", "exists", "mine", "theirs", "stale"])


class Mismatch(AssertionError):
    pass


class TwoTenants(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.provider = self.make_provider()
        signer = CursorSigner(b"property-test-cursor-key")
        self.db = {
            t: TenantDatabase(
                self.provider,
                tenant_id=t,
                provider=self.provider_name,
                capabilities=CAPS,
                signer=signer,
                schema=SCHEMA,
                retry=NO_RETRY,
            )
            for t in TENANTS
        }
        self.model: dict[str, dict[Address, Stored]] = {t: {} for t in TENANTS}

    #: The provider name the scoped wrappers report.
    provider_name = "sqlite"

    def make_provider(self) -> Database:
        """A fresh, empty provider whose schema is :data:`SCHEMA` (both tenants share it)."""
        context = ProviderContext(tenant_id="acme", provider="sqlite", schema=SCHEMA)
        return SqliteDatabase(SqliteSettings(), context)

    def teardown(self) -> None:
        self.provider.close()

    # --- helpers ----------------------------------------------------------------------

    def other(self, tenant: str) -> str:
        return TENANTS[1 - TENANTS.index(tenant)]

    def condition(self, tenant: str, address: Address, kind: str) -> Condition | None:
        match kind:
            case "absent":
                return IfAbsent()
            case "exists":
                return IfExists()
            case "mine" | "theirs":
                owner = tenant if kind == "mine" else self.other(tenant)
                stored = self.model[owner].get(address)
                return IfVersion(version=stored[1] if stored else "0" * 16)
            case "stale":
                return IfVersion(version="f" * 16)
        return None

    def holds(self, tenant: str, address: Address, condition: Condition | None) -> bool:
        stored = self.model[tenant].get(address)
        match condition:
            case IfAbsent():
                return stored is None
            case IfExists():
                return stored is not None
            case IfVersion(version=version):
                return stored is not None and stored[1] == version
        return True

    def record(self, tenant: str, address: Address, data: dict[str, Any], item: Item) -> None:
        """Store a write's outcome in the model; every write gives a new version."""
        previous = self.model[tenant].get(address)
        assert previous is None or previous[1] != item.version, "a write kept the version"
        self.model[tenant][address] = (data, item.version)
        self.check_item(tenant, address, item)

    def check_item(self, tenant: str, address: Address, item: Item) -> None:
        _, pk, sk = address
        assert (item.pk, item.sk) == (pk, sk)
        assert item.data.get("owner") == tenant, f"{tenant} read {item!r}"
        stored = self.model[tenant].get(address)
        assert stored is not None, f"{tenant} sees {address} that it never wrote"
        assert (item.data, item.version) == stored

    def updated(
        self,
        tenant: str,
        address: Address,
        set_: dict[str, Any],
        increment: dict[str, int],
        remove: list[str],
        upsert: bool,
    ) -> dict[str, Any] | type[Exception]:
        stored = self.model[tenant].get(address)
        if stored is None and not upsert:
            return NotFound
        data = dict(stored[0]) if stored else {}
        data.update(set_)
        for name, amount in increment.items():
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                return InvalidRequest
            data[name] = value + amount
        for name in remove:
            data.pop(name, None)
        return data

    # --- single items -----------------------------------------------------------------

    @rule(tenant=tenants, address=addresses, data=fields, kind=condition_kinds)
    def put(self, tenant: str, address: Address, data: dict[str, Any], kind: str) -> None:
        collection, pk, sk = address
        condition = self.condition(tenant, address, kind)
        item = {"pk": pk, "sk": sk, **data, "owner": tenant}
        if not self.holds(tenant, address, condition):
            with pytest.raises(ConditionFailed):
                self.db[tenant].put(collection, item, condition=condition)
            return
        written = self.db[tenant].put(collection, item, condition=condition)
        self.record(tenant, address, {**data, "owner": tenant}, written)

    @rule(
        tenant=tenants,
        address=addresses,
        set_=updates,
        inc=st.one_of(st.just({}), st.fixed_dictionaries({"n": st.integers(-3, 3)})),
        remove=removals,
        upsert=st.booleans(),
        kind=condition_kinds,
    )
    def update(
        self,
        tenant: str,
        address: Address,
        set_: dict[str, Any],
        inc: dict[str, int],
        remove: list[str],
        upsert: bool,
        kind: str,
    ) -> None:
        collection, pk, sk = address
        set_ = {**set_, "owner": tenant}
        remove = [name for name in remove if name not in set_]
        condition = self.condition(tenant, address, kind)

        def call() -> Item:
            return self.db[tenant].update(
                collection,
                pk,
                sk,
                set=set_,
                increment=inc,
                remove=remove,
                condition=condition,
                upsert=upsert,
            )

        if not self.holds(tenant, address, condition):
            with pytest.raises(ConditionFailed):
                call()
            return
        expected = self.updated(tenant, address, set_, inc, remove, upsert)
        if isinstance(expected, type):
            with pytest.raises(expected):
                call()
            return
        self.record(tenant, address, expected, call())

    @rule(tenant=tenants, address=addresses, kind=condition_kinds)
    def delete(self, tenant: str, address: Address, kind: str) -> None:
        collection, pk, sk = address
        condition = self.condition(tenant, address, kind)
        if not self.holds(tenant, address, condition):
            with pytest.raises(ConditionFailed):
                self.db[tenant].delete(collection, pk, sk, condition=condition)
            return
        existed = self.db[tenant].delete(collection, pk, sk, condition=condition)
        assert existed == (self.model[tenant].pop(address, None) is not None)

    @rule(tenant=tenants, address=addresses)
    def get(self, tenant: str, address: Address) -> None:
        collection, pk, sk = address
        item = self.db[tenant].get(collection, pk, sk)
        if address not in self.model[tenant]:
            assert item is None, f"{tenant} reads {item!r}, which it does not have"
        else:
            assert item is not None
            self.check_item(tenant, address, item)

    # --- lists ------------------------------------------------------------------------

    def listing(self, tenant: str, collection: str, pk: str) -> list[Address]:
        return sorted(
            (a for a in self.model[tenant] if a[0] == collection and a[1] == pk),
            key=lambda a: a[2],
        )

    @rule(
        tenant=tenants,
        collection=st.sampled_from(COLLECTIONS),
        pk=st.sampled_from(PKS),
        descending=st.booleans(),
        limit=st.integers(1, 3),
    )
    def query(self, tenant: str, collection: str, pk: str, descending: bool, limit: int) -> None:
        seen: list[Item] = []
        cursor: str | None = None
        while True:
            page = self.db[tenant].query(
                collection, pk, descending=descending, limit=limit, cursor=cursor
            )
            seen.extend(page.items)
            if page.cursor is None:
                break
            with pytest.raises(InvalidCursor):
                self.db[self.other(tenant)].query(
                    collection, pk, descending=descending, limit=limit, cursor=page.cursor
                )
            cursor = page.cursor
        want = self.listing(tenant, collection, pk)
        assert [(i.pk, i.sk) for i in seen] == [
            (a[1], a[2]) for a in want[:: -1 if descending else 1]
        ]
        for item in seen:
            self.check_item(tenant, (collection, item.pk, item.sk), item)

    @rule(
        tenant=tenants,
        team=teams,
        sorted_index=st.booleans(),
        descending=st.booleans(),
        limit=st.integers(1, 4),
    )
    def query_index(
        self, tenant: str, team: str, sorted_index: bool, descending: bool, limit: int
    ) -> None:
        index = "by_team_at" if sorted_index else "by_team"
        seen: list[Item] = []
        cursor: str | None = None
        while True:
            page = self.db[tenant].query_index(
                "members", index, team, descending=descending, limit=limit, cursor=cursor
            )
            seen.extend(page.items)
            if page.cursor is None:
                break
            cursor = page.cursor
        members = [
            (a, data)
            for a, (data, _) in self.model[tenant].items()
            if a[0] == "members"
            and data.get("team") == team
            and (not sorted_index or isinstance(data.get("at"), str))
        ]
        members.sort(key=lambda m: (m[1]["at"], m[0][1], m[0][2]) if sorted_index else m[0][1:])
        if descending:
            members.reverse()
        assert [(i.pk, i.sk) for i in seen] == [(a[1], a[2]) for a, _ in members]
        for item in seen:
            self.check_item(tenant, ("members", item.pk, item.sk), item)

    # --- batches and transactions -----------------------------------------------------

    @rule(
        tenant=tenants,
        collection=st.sampled_from(COLLECTIONS),
        keys=st.lists(
            st.tuples(st.sampled_from(PKS), st.sampled_from(SKS)), max_size=5, unique=True
        ),
        data=fields,
    )
    def batch_put(
        self, tenant: str, collection: str, keys: list[tuple[str, str]], data: dict[str, Any]
    ) -> None:
        self.db[tenant].batch_put(
            collection, [{"pk": pk, "sk": sk, **data, "owner": tenant} for pk, sk in keys]
        )
        for pk, sk in keys:
            item = self.db[tenant].get(collection, pk, sk)
            assert item is not None
            self.record(tenant, (collection, pk, sk), {**data, "owner": tenant}, item)

    @rule(
        tenant=tenants,
        collection=st.sampled_from(COLLECTIONS),
        keys=st.lists(st.tuples(st.sampled_from(PKS), st.sampled_from(SKS)), max_size=6),
    )
    def batch_get(self, tenant: str, collection: str, keys: list[tuple[str, str]]) -> None:
        found = self.db[tenant].batch_get(collection, keys)
        want = [(pk, sk) for pk, sk in keys if (collection, pk, sk) in self.model[tenant]]
        assert [(i.pk, i.sk) for i in found] == want
        for item in found:
            self.check_item(tenant, (collection, item.pk, item.sk), item)

    @rule(
        tenant=tenants,
        plan=st.lists(
            st.tuples(
                addresses,
                st.sampled_from(["put", "update", "upsert", "delete", "check"]),
                condition_kinds,
                st.integers(-2, 2),
            ),
            min_size=1,
            max_size=4,
            unique_by=lambda step: step[0],
        ),
    )
    def transact(self, tenant: str, plan: list[tuple[Address, str, str, int]]) -> None:
        ops: list[TxOp] = []
        reasons: list[str | None] = []
        effects: list[tuple[Address, dict[str, Any] | None]] = []
        for address, kind, condition_kind, amount in plan:
            collection, pk, sk = address
            condition = self.condition(tenant, address, condition_kind)
            if kind == "check" and condition is None:
                condition = IfAbsent()
            key = Key(pk=pk, sk=sk)
            holds = self.holds(tenant, address, condition)
            reason: str | None = None if holds else "ConditionalCheckFailed"
            effect: dict[str, Any] | None = None
            match kind:
                case "put":
                    data = {"n": amount, "owner": tenant}
                    ops.append(
                        TxPut(
                            collection=collection,
                            item={"pk": pk, "sk": sk, **data},
                            condition=condition,
                        )
                    )
                    effect = data
                case "update" | "upsert":
                    set_ = {"owner": tenant, "text": f"tx{amount}"}
                    inc = {"n": amount}
                    ops.append(
                        TxUpdate(
                            collection=collection,
                            key=key,
                            set=set_,
                            increment=inc,
                            condition=condition,
                            upsert=kind == "upsert",
                        )
                    )
                    result = self.updated(tenant, address, set_, inc, [], kind == "upsert")
                    if holds and isinstance(result, type):
                        reason = "other"
                    elif isinstance(result, dict):
                        effect = result
                case "delete":
                    ops.append(TxDelete(collection=collection, key=key, condition=condition))
                case "check":
                    assert condition is not None
                    ops.append(TxCheck(collection=collection, key=key, condition=condition))
            reasons.append(reason)
            if kind != "check":
                effects.append((address, effect))
        if any(r is not None for r in reasons):
            with pytest.raises(TransactionCanceled) as caught:
                self.db[tenant].transact_write(ops)
            got = caught.value.reasons
            assert [r is None for r in got] == [r is None for r in reasons]
            for mine, theirs in zip(reasons, got, strict=True):
                if mine == "ConditionalCheckFailed":
                    assert theirs == mine
            return
        self.db[tenant].transact_write(ops)
        for address, effect in effects:
            if effect is None:
                self.model[tenant].pop(address, None)
            else:
                item = self.db[tenant].get(*address)
                assert item is not None
                self.record(tenant, address, effect, item)

    # --- the whole state --------------------------------------------------------------

    @invariant()
    def both_tenants_hold_exactly_their_model(self) -> None:
        for tenant in TENANTS:
            for collection in COLLECTIONS:
                for pk in PKS:
                    page = self.db[tenant].query(collection, pk, limit=100)
                    want = self.listing(tenant, collection, pk)
                    assert [(collection, i.pk, i.sk) for i in page.items] == want
                    for item in page.items:
                        self.check_item(tenant, (collection, item.pk, item.sk), item)


TwoTenants.TestCase.settings = settings(
    max_examples=75,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestTwoTenantsIsolation = TwoTenants.TestCase
