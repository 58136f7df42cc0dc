"""Read models that mirror another service's aggregates, guarded by the source version."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import uuid
from collections.abc import Iterable
from typing import Any

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
    values = {"source_version": version, "is_deleted": deleted,
              "replicated_at": timezone.now(), **fields}
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


@dataclasses.dataclass(frozen=True)
class ReplicaState:
    pk: Any
    version: int
    deleted: bool
    fields: dict[str, Any]


def replica_apply_many(model: type[ReplicaModel], states: Iterable[ReplicaState]) -> set[Any]:
    """`replica_apply` for many states at once: for each primary key the newest of the given
    states is stored if it is newer than the stored one, in one statement per 500 rows

        INSERT ... ON CONFLICT (pk) DO UPDATE SET ... WHERE stored.source_version < new
        RETURNING pk

    (PostgreSQL; SQLite 3.35+ too). Returns the primary keys whose state was stored. Rows are
    written in primary-key order, so two of these running at once cannot deadlock."""
    pk_field = model._meta.pk
    newest: dict[Any, ReplicaState] = {}
    for state in states:
        key = pk_field.to_python(state.pk)
        kept = newest.get(key)
        if kept is None or state.version > kept.version:
            newest[key] = state
    if not newest:
        return set()
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in ("postgresql", "sqlite"):
        return {key for key, s in newest.items()
                if replica_apply(model, pk=key, version=s.version, deleted=s.deleted,
                                 fields=s.fields)}
    names = sorted(next(iter(newest.values())).fields)
    fields = [pk_field, *(model._meta.get_field(n) for n in
                          ("source_version", "is_deleted", "replicated_at", *names))]
    # Local columns the states do not carry get their defaults on insert and keep their value.
    local = [f for f in model._meta.concrete_fields if f not in fields and f.has_default()]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in [*fields, *local])
    updates = ", ".join(f"{quote(f.column)} = EXCLUDED.{quote(f.column)}" for f in fields[1:])
    version = quote(model._meta.get_field("source_version").column)
    row = "(" + ", ".join(["%s"] * (len(fields) + len(local))) + ")"
    # The same for every row, so prepared once: the replication time and the local defaults.
    now = fields[3].get_db_prep_save(timezone.now(), connection)
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in local]
    pk_prep, version_prep, deleted_prep = (f.get_db_prep_save for f in fields[:3])
    if connection.vendor == "postgresql" and isinstance(pk_field, models.UUIDField):
        # As text: PostgreSQL reads it as the column's uuid, and psycopg2's UUID adapter (a
        # Python object per value) was a tenth of applying a batch.
        pk_prep = lambda value, connection: str(value)  # noqa: E731
    named = [(n, f.get_db_prep_save) for n, f in zip(names, fields[4:], strict=True)]
    keys = sorted(newest)
    for key in keys:
        if newest[key].fields.keys() != set(names):
            raise ValueError("every state given to replica_apply_many must have the same fields")
    head = f"INSERT INTO {table} ({columns}) "
    tail = (f"ON CONFLICT ({quote(pk_field.column)}) DO UPDATE SET {updates} "
            f"WHERE {table}.{version} < EXCLUDED.{version} ")
    stored: set[Any] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and all(map(_json_ready, fields)):
            # The rows as one JSON parameter that PostgreSQL unpacks: psycopg2 quoting ten
            # parameters a row was most of the cost of applying a batch (`manage_all.py bench`).
            as_json = [_json_cast(i, f, connection) for i, f in enumerate(fields)]
            # The replication time and the local defaults, the same for every row, as
            # parameters (a row keeps a null in the replication time's place).
            as_json[3] = "%s"
            as_json += [f"CAST(%s AS {_cast_type(f, connection)})" for f in local]
            text_pk = isinstance(pk_field, models.UUIDField)
            returning = f"{quote(pk_field.column)}::text" if text_pk else quote(pk_field.column)
            by_text = {str(key): key for key in keys} if text_pk else {}
            preps = [(n, _json_prep(f)) for n, f in zip(names, fields[4:], strict=True)]
            for start in range(0, len(keys), _JSON_CHUNK):
                rows = []
                for key in keys[start:start + _JSON_CHUNK]:
                    state = newest[key]
                    values = state.fields
                    rows.append([key, state.version, state.deleted, None,
                                 *(values[n] if prep is None else prep(values[n], connection)
                                   for n, prep in preps)])
                cursor.execute(
                    head + f"SELECT {', '.join(as_json)}"
                    " FROM json_array_elements(%s::json) AS r " + tail + f"RETURNING {returning}",
                    [now, *defaults, json.dumps(rows, default=_json_default)])
                stored.update(by_text[r[0]] if text_pk else pk_field.to_python(r[0])
                              for r in cursor.fetchall())
            return stored
        for start in range(0, len(keys), _UPSERT_CHUNK):
            chunk = keys[start:start + _UPSERT_CHUNK]
            params: list[Any] = []
            for key in chunk:
                state = newest[key]
                params += [pk_prep(key, connection), version_prep(state.version, connection),
                           deleted_prep(state.deleted, connection), now,
                           *(prep(state.fields[n], connection) for n, prep in named),
                           *defaults]
            cursor.execute(
                head + f"VALUES {', '.join([row] * len(chunk))} " + tail
                + f"RETURNING {quote(pk_field.column)}", params)
            stored.update(pk_field.to_python(r[0]) for r in cursor.fetchall())
    return stored


# Field types whose values travel as JSON (text PostgreSQL casts back); any other type in a
# replica takes the plain VALUES path.
_JSON_READY = frozenset({
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "DateField",
    "DateTimeField", "DecimalField", "EmailField", "IntegerField", "JSONField",
    "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
    "SlugField", "SmallIntegerField", "TextField", "TimeField", "URLField", "UUIDField",
})


def _json_ready(field: models.Field) -> bool:
    return field.get_internal_type() in _JSON_READY


def _json_cast(index: int, field: models.Field, connection: Any) -> str:
    if field.get_internal_type() == "JSONField":
        return f"(r->{index})::jsonb"
    return f"CAST(r->>{index} AS {_cast_type(field, connection)})"


def _cast_type(field: models.Field, connection: Any) -> str:
    db_type = field.db_type(connection)
    # Text, not varchar(n): a cast would cut a long value short, where the column refuses it.
    return "text" if db_type.startswith("varchar") else db_type


# Types whose Python values JSON carries as they are (PostgreSQL casts the text back); the
# others go through the field's get_db_prep_save first (a datetime made aware, say).
_AS_THEY_ARE = frozenset({
    "BigIntegerField", "BooleanField", "CharField", "EmailField", "IntegerField", "JSONField",
    "PositiveBigIntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
    "SlugField", "SmallIntegerField", "TextField", "URLField",
})


def _json_prep(field: models.Field) -> Any:
    # A JSON field's value is JSON already; the database adapter get_db_prep_save would make
    # of it is not.
    return None if field.get_internal_type() in _AS_THEY_ARE else field.get_db_prep_save


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    raise TypeError(f"{type(value).__name__} in a replica state cannot travel as JSON")
