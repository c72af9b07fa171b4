"""Key lookups for moto's DynamoDB queries, so a Query costs what it returns, not the table.

moto answers every ``Query`` by walking (and sorting) every item of the table, a global
secondary index query included: at a few thousand items of the connections and chat tables
that was hundreds of milliseconds a query, and the realtime processor makes several per
message. DynamoDB itself reads only the partition asked for.

This seam leaves moto's query logic as it is (key conditions, filters, projection, sorting,
``Limit`` and ``ExclusiveStartKey``) and only narrows the items it walks to the ones that can
match the partition-key condition:

- a query on the table (or on a local index, which shares the table's partition key) gets the
  items of that partition, which moto already keeps in a dict by partition key;
- a query on a global index gets the items whose index partition-key attribute has the value
  asked for, from an index of attribute values kept per table (``_TableIndex``).

The index of an attribute is built on the first query that needs it (one walk of the table)
and then kept current on every way moto writes an item: ``Table.put_item`` (PutItem,
BatchWriteItem's puts, the transaction seam, PartiQL, an update that creates its item),
``Table.delete_item`` (DeleteItem, BatchWriteItem's deletes, transactions, PartiQL) and
``DynamoDBBackend.update_item`` (UpdateItem, which changes moto's item in place). moto does not
expire items by TTL; the runtime's sweeper (``local.services.TtlSweeper``) deletes them with
``DeleteItem``, the path above. Tables moto creates from others (restores, imports, a state file loaded at
start) are new objects and get their own index on first use. Indexes live beside moto's state,
keyed weakly by table, so they are never pickled with it.

Everything here runs under the DynamoDB lock of ``local.moto_host`` (one request at a time); the
candidate list handed to moto is thread-local all the same.
"""

from __future__ import annotations

import contextlib
import inspect
import threading
import weakref
from collections.abc import Iterator
from typing import Any

# Attribute types a key can have; other values can never equal a key condition's value.
_KEY_TYPES = frozenset({"S", "N", "B"})

_local = threading.local()
_enabled = True
_installed: dict[str, Any] = {}

ItemKey = tuple[Any, Any]  # (partition key, sort key or None) as moto's DynamoType values


class _TableIndex:
    """For one table: each tracked attribute's value -> the keys of the items holding it."""

    def __init__(self) -> None:
        self.by_attr: dict[str, dict[Any, set[ItemKey]]] = {}
        self.values: dict[ItemKey, dict[str, Any]] = {}

    def keys_with(self, table: Any, attr: str, value: Any) -> set[ItemKey]:
        if attr not in self.by_attr:
            self.by_attr[attr] = {}
            for item in _stored_items(table):
                self._add(attr, (item.hash_key, item.range_key), item)
        return self.by_attr[attr].get(value, set())

    def refresh(self, table: Any, key: ItemKey) -> None:
        """Re-read one item after a write (or a failed one: nothing to change then)."""
        for attr, value in self.values.pop(key, {}).items():
            holders = self.by_attr[attr][value]
            holders.discard(key)
            if not holders:
                del self.by_attr[attr][value]
        item = _stored_item(table, key)
        if item is not None:
            for attr in self.by_attr:
                self._add(attr, key, item)

    def _add(self, attr: str, key: ItemKey, item: Any) -> None:
        value = item.attrs.get(attr)
        if value is None or value.type not in _KEY_TYPES:
            return
        # A copy: an update may change moto's value object in place, and it is a dict key here.
        value = type(value)(value.to_json())
        self.by_attr[attr].setdefault(value, set()).add(key)
        self.values.setdefault(key, {})[attr] = value


_indexes: weakref.WeakKeyDictionary[Any, _TableIndex] = weakref.WeakKeyDictionary()


def _stored_items(table: Any) -> Iterator[Any]:
    for stored in list(table.items.values()):
        if table.range_key_attr:
            yield from list(stored.values())
        else:
            yield stored


def _stored_item(table: Any, key: ItemKey) -> Any:
    partition = table.items.get(key[0])
    if partition is None or not table.range_key_attr:
        return partition
    return partition.get(key[1])


def _partition(table: Any, hash_key: Any) -> list[Any]:
    stored = table.items.get(hash_key)
    if stored is None:
        return []
    return list(stored.values()) if table.range_key_attr else [stored]


def _candidates(table: Any, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
    """The items a query can match (moto sorts them itself); None: let moto walk the whole table."""
    if not index_name:
        return None if hash_key is None else _partition(table, hash_key)
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None or not conditions:
        return None  # moto raises its own error, or there is no partition condition to use
    attr, value = conditions[0]
    if value is None or value.type not in _KEY_TYPES:
        return None
    if attr == table.hash_key_attr:
        items = _partition(table, value)
    else:
        table_index = _indexes.get(table)
        if table_index is None:
            table_index = _indexes[table] = _TableIndex()
        found = (_stored_item(table, key) for key in table_index.keys_with(table, attr, value))
        items = [item for item in found if item is not None]
    return items


def _refresh(table: Any, key: ItemKey) -> None:
    table_index = _indexes.get(table)
    if table_index is not None:
        table_index.refresh(table, key)


@contextlib.contextmanager
def moto_queries() -> Iterator[None]:
    """Answer queries the way moto does by itself (tests compare the two); writes stay indexed."""
    global _enabled
    _enabled = False
    try:
        yield
    finally:
        _enabled = True


def install_dynamodb_index() -> None:
    """Patch moto's table and backend (idempotent: a second call wraps moto's originals again)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = _installed.setdefault(
        "originals",
        {
            "all_items": Table.all_items,
            "query": Table.query,
            "put_item": Table.put_item,
            "delete_item": Table.delete_item,
            "update_item": DynamoDBBackend.update_item,
        },
    )
    query_signature = inspect.signature(original["query"])

    def all_items(self: Any) -> list[Any]:
        narrowed = getattr(_local, "narrowed", None)
        if narrowed is not None and narrowed[0] is self:
            return list(narrowed[1])
        return original["all_items"](self)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _enabled:
            return original["query"](self, *args, **kwargs)
        bound = query_signature.bind(self, *args, **kwargs).arguments
        candidates = _candidates(self, bound.get("hash_key"), bound.get("index_name"), bound.get("hash_key_conditions"))
        if candidates is None:
            return original["query"](self, *args, **kwargs)
        _local.narrowed = (self, candidates)
        try:
            return original["query"](self, *args, **kwargs)
        finally:
            _local.narrowed = None

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = original["put_item"](self, *args, **kwargs)
        _refresh(self, (item.hash_key, item.range_key))
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return original["delete_item"](self, hash_key, range_key)
        finally:
            _refresh(self, (hash_key, range_key))

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return original["update_item"](self, table_name, key, *args, **kwargs)
        finally:
            with contextlib.suppress(Exception):  # a malformed key wrote nothing
                table = self.get_table(table_name)
                range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                _refresh(table, (DynamoType(key[table.hash_key_attr]), range_key))

    Table.all_items = all_items
    Table.query = query
    Table.put_item = put_item
    Table.delete_item = delete_item
    DynamoDBBackend.update_item = update_item
