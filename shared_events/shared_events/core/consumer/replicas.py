"""Read models that mirror another service's aggregates, guarded by the source version."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import functools
import re
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

import orjson
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone

_UPSERT_CHUNK = 500  # rows per statement
_JSON_CHUNK = 2000  # rows per statement when they travel as one JSON parameter


class ReplicaModel(models.Model):
    """Subclasses add the replicated fields; the primary key is the source aggregate id.

    A deletion is kept as a tombstone (`is_deleted`), because a deleted row could not stop an
    older state that arrives late from bringing it back."""

    source_version = models.PositiveBigIntegerField(default=0)
    is_deleted = models.BooleanField(default=False)
    replicated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


def replica_apply(
    model: type[ReplicaModel], *, pk: Any, version: int, deleted: bool, fields: dict[str, Any]
) -> bool:
    """Store this state if it is newer than the stored one. Returns whether anything changed:
    the same or an older version (a redelivery, a reordering) has no effect."""
    values = {
        "source_version": version,
        "is_deleted": deleted,
        "replicated_at": timezone.now(),
        **fields,
    }
    manager = model._default_manager
    if manager.filter(pk=pk, source_version__lt=version).update(**values):
        return True
    if manager.filter(pk=pk).exists():
        return False
    try:
        with transaction.atomic():
            manager.create(pk=pk, **values)
        return True
    except IntegrityError:
        # Created concurrently (a replay running beside the consumer): compare versions again.
        return bool(manager.filter(pk=pk, source_version__lt=version).update(**values))


class ReplicaState(NamedTuple):
    """One state to store (a tuple: made once per event, a frozen dataclass cost more)."""

    pk: Any
    version: int
    deleted: bool
    fields: dict[str, Any]


def replica_apply_many(model: type[ReplicaModel], states: Iterable[ReplicaState]) -> set[Any]:
    """`replica_apply` for many states at once: for each primary key the newest of the given
    states is stored if it is newer than the stored one, in one statement per chunk of rows

        INSERT ... ON CONFLICT (pk) DO UPDATE SET ... WHERE stored.source_version < new
        RETURNING pk

    (PostgreSQL; SQLite 3.35+ too). Returns the primary keys whose state was stored. Rows are
    written in primary-key order, so two of these running at once cannot deadlock."""
    pk_field = model._meta.pk
    to_key = (
        _uuid_text_maker(pk_field) if isinstance(pk_field, models.UUIDField) else pk_field.to_python
    )
    newest: dict[Any, ReplicaState] = {}
    for state in states:
        key = to_key(state.pk)
        kept = newest.get(key)
        if kept is None or state.version > kept.version:
            newest[key] = state
    if not newest:
        return set()
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return {
            pk_field.to_python(key)
            for key, s in newest.items()
            if replica_apply(model, pk=key, version=s.version, deleted=s.deleted, fields=s.fields)
        }
    names = sorted(next(iter(newest.values())).fields)
    keys = sorted(newest)  # a UUID's canonical text sorts as PostgreSQL sorts the UUID
    for key in keys:
        if newest[key].fields.keys() != set(names):
            raise ValueError("every state given to replica_apply_many must have the same fields")
    plan = _UpsertPlan.of(model, names, connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and all(map(_json_ready, plan.fields)):
            return _upsert_as_json(cursor, plan, newest, keys)
        return _upsert_as_values(cursor, plan, newest, keys)


@dataclasses.dataclass(frozen=True)
class _UpsertPlan:
    """What every row of one `replica_apply_many` shares: its columns and statement."""

    connection: Any
    fields: list[models.Field]  # pk, source_version, is_deleted, replicated_at, then `names`
    names: list[str]
    local: list[models.Field]  # columns the states do not carry: their defaults on insert
    head: str  # INSERT INTO table (columns)
    tail: str  # ON CONFLICT ... DO UPDATE ... WHERE the stored version is older
    pk_column: str
    now: Any  # the replication time, prepared once
    defaults: list[Any]

    @classmethod
    def of(cls, model: type[ReplicaModel], names: list[str], connection: Any) -> _UpsertPlan:
        pk_field = model._meta.pk
        by_name = {f.name: f for f in model._meta.concrete_fields}
        fields = [
            pk_field,
            *(by_name[n] for n in ("source_version", "is_deleted", "replicated_at", *names)),
        ]
        # Local columns get their defaults on insert and keep their value on update.
        local = [f for f in model._meta.concrete_fields if f not in fields and f.has_default()]
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        columns = ", ".join(quote(f.column) for f in [*fields, *local])
        updates = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields[1:])
        version = quote(by_name["source_version"].column)
        return cls(
            connection=connection,
            fields=fields,
            names=names,
            local=local,
            head=f"INSERT INTO {table} ({columns}) ",
            tail=(
                f"ON CONFLICT ({quote(pk_field.column)}) DO UPDATE SET {updates} "
                f"WHERE {table}.{version} < EXCLUDED.{version} "
            ),
            pk_column=quote(pk_field.column),
            now=fields[3].get_db_prep_save(timezone.now(), connection),
            defaults=[f.get_db_prep_save(f.get_default(), connection) for f in local],
        )


def _upsert_as_values(
    cursor: Any, plan: _UpsertPlan, newest: dict[Any, ReplicaState], keys: list[Any]
) -> set[Any]:
    """One statement per 500 rows, every value a parameter (SQLite; PostgreSQL for a replica
    with a field type `_upsert_as_json` does not carry)."""
    connection, pk_field = plan.connection, plan.fields[0]
    pk_prep, version_prep, deleted_prep = (f.get_db_prep_save for f in plan.fields[:3])
    named = [(n, f.get_db_prep_save) for n, f in zip(plan.names, plan.fields[4:], strict=True)]
    row = "(" + ", ".join(["%s"] * (len(plan.fields) + len(plan.local))) + ")"
    stored: set[Any] = set()
    for start in range(0, len(keys), _UPSERT_CHUNK):
        chunk = keys[start : start + _UPSERT_CHUNK]
        params: list[Any] = []
        for key in chunk:
            state = newest[key]
            params += [
                pk_prep(key, connection),
                version_prep(state.version, connection),
                deleted_prep(state.deleted, connection),
                plan.now,
                *(prep(state.fields[n], connection) for n, prep in named),
                *plan.defaults,
            ]
        cursor.execute(
            plan.head
            + f"VALUES {', '.join([row] * len(chunk))} "
            + plan.tail
            + f"RETURNING {plan.pk_column}",
            params,
        )
        stored.update(pk_field.to_python(r[0]) for r in cursor.fetchall())
    return stored


def _upsert_as_json(
    cursor: Any, plan: _UpsertPlan, newest: dict[Any, ReplicaState], keys: list[Any]
) -> set[Any]:
    """PostgreSQL: the rows as one JSON parameter it unpacks and casts back, one statement per
    2,000 rows, rather than psycopg2 quoting ten parameters a row."""
    connection, pk_field = plan.connection, plan.fields[0]
    selected = [_json_cast(i, f, connection) for i, f in enumerate(plan.fields)]
    # The replication time and the local defaults are the same for every row: parameters (a
    # row keeps a null in the replication time's place, so its indexes match `fields`).
    selected[3] = "%s"
    selected += [f"CAST(%s AS {_cast_type(f, connection)})" for f in plan.local]
    text_pk = isinstance(pk_field, models.UUIDField)  # its keys are their canonical text
    returning = f"{plan.pk_column}::text" if text_pk else plan.pk_column
    preps = [(n, _json_prep(f)) for n, f in zip(plan.names, plan.fields[4:], strict=True)]
    stored: set[Any] = set()
    for start in range(0, len(keys), _JSON_CHUNK):
        rows = []
        for key in keys[start : start + _JSON_CHUNK]:
            state = newest[key]
            values = state.fields
            rows.append(
                [
                    key,
                    state.version,
                    state.deleted,
                    None,
                    *[
                        values[n] if prep is None else prep(values[n], connection)
                        for n, prep in preps
                    ],
                ]
            )
        cursor.execute(
            plan.head
            + f"SELECT {', '.join(selected)} FROM json_array_elements(%s::json) AS r "
            + plan.tail
            + f"RETURNING {returning}",
            [plan.now, *plan.defaults, _json_text(rows)],
        )
        stored.update(
            uuid.UUID(r[0]) if text_pk else pk_field.to_python(r[0]) for r in cursor.fetchall()
        )
    return stored


# Types whose Python values JSON carries as they are (PostgreSQL casts the text back), and
# those that go through the field's get_db_prep_save first (a datetime made aware, say). Any
# other type in a replica takes the VALUES path.
_AS_THEY_ARE = frozenset(
    {
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "IntegerField",
        "JSONField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)
_JSON_READY = _AS_THEY_ARE | {
    "AutoField",
    "BigAutoField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "TimeField",
    "UUIDField",
}


def _json_ready(field: models.Field) -> bool:
    return field.get_internal_type() in _JSON_READY


def _json_cast(index: int, field: models.Field, connection: Any) -> str:
    if field.get_internal_type() == "JSONField":
        return f"(r->{index})::jsonb"
    return f"CAST(r->>{index} AS {_cast_type(field, connection)})"


def _cast_type(field: models.Field, connection: Any) -> str:
    db_type = field.db_type(connection)
    if db_type is None:
        raise TypeError(f"{field.name} has no column type to cast to")
    # Text, not varchar(n): a cast would cut a long value short, where the column refuses it.
    return "text" if db_type.startswith("varchar") else db_type


def _json_prep(field: models.Field) -> Any:
    # A JSON field's value is JSON already; the database adapter get_db_prep_save would make
    # of it is not.
    if field.get_internal_type() in _AS_THEY_ARE:
        return None
    if field.get_internal_type() == "DateTimeField":
        return functools.partial(_aware_as_it_is, field.get_db_prep_save)
    return field.get_db_prep_save


def _aware_as_it_is(prep: Any, value: Any, connection: Any) -> Any:
    """A datetime with its offset goes as it is (the field's preparation would return it
    unchanged, after checking settings per row: most of a row's cost); any other through it
    (a naive one is made aware, with its warning)."""
    if type(value) is datetime.datetime and value.utcoffset() is not None:
        return value
    return prep(value, connection)


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text_maker(pk_field: models.Field) -> Any:
    """A UUID key as its canonical text: what events carry, kept as it is (a uuid.UUID for
    every state, hashed, sorted and written back as text, was a tenth of a batch)."""

    def uuid_text(value: Any) -> str:
        if type(value) is str and _CANONICAL_UUID.fullmatch(value):
            return value
        return str(pk_field.to_python(value))  # any other spelling, or the field's error

    return uuid_text


def _json_text(rows: list[list[Any]]) -> str:
    """The rows as JSON text (orjson writes UUIDs and datetimes itself, as their canonical
    text and ISO 8601, in a tenth of the standard library's time)."""
    return orjson.dumps(rows, default=_json_default).decode()


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a replica state cannot travel as JSON")
