"""`PublishedModel`: a model whose every change leaves its event in the outbox.

The event is written in the same transaction as the change, with the aggregate's `version`
bumped there too, whichever way the change is made: `save()`, `delete()` (cascades included),
`QuerySet.update()`, `bulk_create()` and `bulk_update()`. Raw SQL is the one way around it, and
`shared_events.core.testing.assert_outbox_covers_published_models` catches that in tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from django.core import checks
from django.db import NotSupportedError, connections, models, router, transaction
from django.db.models.signals import class_prepared, post_delete, pre_delete

from ..schemas import EventData
from .writer import PendingEvent, record_events

_CHUNK = 500


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PublishedQuerySet(models.QuerySet):
    """Bulk writes that keep the outbox complete."""

    def _touches_published(self, fields: Iterable[str]) -> bool:
        published = self.model.published_fields
        return any(self.model._meta.get_field(f).name in published for f in fields)

    def _plain(self) -> models.QuerySet[Any]:
        """A QuerySet of the same rows without these guards: its writes bump no version."""
        return models.QuerySet(self.model, using=self.db)

    def _record_updated(self, pks: Sequence[Any]) -> None:
        fresh = self._plain().filter(pk__in=pks)
        record_events(
            [
                PendingEvent(
                    f"{self.model.event_aggregate}.updated", str(o.pk), o.version, o.event_state()
                )
                for o in fresh
            ],
            using=self.db,
        )

    def update(self, **kwargs: Any) -> int:
        if not self._touches_published(kwargs):
            return super().update(**kwargs)
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.select_for_update().values_list("pk", flat=True))
            changed = 0
            for chunk in _chunks(pks):
                plain = self._plain().filter(pk__in=chunk)
                changed += plain.update(version=models.F("version") + 1, **kwargs)
                self._record_updated(chunk)
            return changed

    # Django's mark on methods a template must not call; mypy knows no function attributes.
    update.alters_data = True  # type: ignore[attr-defined]

    def bulk_create(self, objs: Iterable[Any], *args: Any, **kwargs: Any) -> list[Any]:
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise NotSupportedError(
                f"{self.model.__name__}.bulk_create cannot tell which rows it changed when "
                "conflicts are ignored or updated; save() them instead"
            )
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            for obj in objs:
                obj.version = 1
            created = super().bulk_create(objs, *args, **kwargs)
            record_events(
                [
                    PendingEvent(
                        f"{self.model.event_aggregate}.created", str(o.pk), 1, o.event_state()
                    )
                    for o in created
                ],
                using=self.db,
            )
        return created

    def bulk_update(
        self, objs: Iterable[Any], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        objs, fields = list(objs), list(fields)
        if not self._touches_published(fields):
            return super().bulk_update(objs, fields, batch_size=batch_size)
        pks = [o.pk for o in objs]
        if len(set(pks)) != len(pks):
            raise ValueError("bulk_update got the same object twice; its version would collide")
        with transaction.atomic(using=self.db, savepoint=False):
            changed = 0
            for chunk in _chunks(objs):
                chunk_pks = [o.pk for o in chunk]
                if connections[self.db].vendor == "postgresql" and not any(
                    hasattr(getattr(o, self.model._meta.get_field(f).attname), "resolve_expression")
                    for o in chunk
                    for f in fields
                ):
                    changed += self._update_from_values(chunk, fields)
                    self._record_updated(chunk_pks)
                    continue
                locked = self._plain().filter(pk__in=chunk_pks)
                versions = dict(locked.select_for_update().values_list("pk", "version"))
                for obj in chunk:
                    obj.version = versions[obj.pk] + 1
                # The plain QuerySet: Django's bulk_update calls update(), which must not
                # bump the version a second time.
                changed += locked.bulk_update(chunk, [*fields, "version"], batch_size=batch_size)
                self._record_updated(chunk_pks)
            return changed

    bulk_update.alters_data = True  # type: ignore[attr-defined]

    def _update_from_values(self, objs: Sequence[Any], fields: Sequence[str]) -> int:
        """`bulk_update` of plain values on PostgreSQL in one statement that also bumps each
        row's version: UPDATE ... FROM (VALUES ...), not Django's CASE WHEN per row and field, which
        made an epoch accrual slow."""
        connection = connections[self.db]
        meta = self.model._meta
        quote = connection.ops.quote_name
        pk, version = meta.pk, meta.get_field("version")
        columns = [meta.get_field(f) for f in fields]
        typed = [pk, *columns]
        row = "(" + ", ".join(f"%s::{f.cast_db_type(connection)}" for f in typed) + ")"
        params = [
            f.get_db_prep_save(getattr(o, f.attname), connection) for o in objs for f in typed
        ]
        names = ", ".join(quote(f.column) for f in typed)
        sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {sets}, "
                f"{quote(version.column)} = t.{quote(version.column)} + 1 "
                f"FROM (VALUES {', '.join([row] * len(objs))}) AS v({names}) "
                f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)} "
                f"RETURNING t.{quote(pk.column)}, t.{quote(version.column)}",
                params,
            )
            versions = {pk.to_python(key): value for key, value in cursor.fetchall()}
        for obj in objs:
            if obj.pk in versions:
                obj.version = versions[obj.pk]
        return len(versions)


class PublishedManager(models.Manager.from_queryset(PublishedQuerySet)):  # type: ignore[misc]
    pass


class PublishedModel(models.Model):
    """Subclasses set `event_aggregate` ("accounts.account") and `published_fields` (the fields
    other services see), and implement `event_state()` returning the aggregate's full state."""

    version = models.PositiveBigIntegerField(default=0, editable=False)

    objects = PublishedManager()

    event_aggregate: ClassVar[str]
    published_fields: ClassVar[frozenset[str]]
    _version_at_delete: int  # set before a delete cascades, read after (the signals below)

    class Meta:
        abstract = True
        # Related-object managers and internal lookups use this too, so they keep the guards.
        base_manager_name = "objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and not (set(update_fields) & self.published_fields):
            return super().save(*args, **kwargs)  # e.g. last_login: nothing others can see
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            if self._state.adding:
                self.version = 1
                super().save(*args, **kwargs)
                verb = "created"
            else:
                previous = self.version
                # Bumped in SQL: two concurrent saves serialize on the row lock and get distinct
                # versions, so a consumer never drops the later state as a duplicate.
                self.version = models.F("version") + 1
                if update_fields is not None:
                    kwargs["update_fields"] = {*update_fields, "version"}
                try:
                    super().save(*args, **kwargs)
                except BaseException:
                    self.version = previous
                    raise
                # A partial save leaves other columns as another transaction wrote them: read the
                # row back (we hold its lock) so the event is the state that commits.
                self.refresh_from_db(
                    using=using, fields=None if update_fields is not None else ["version"]
                )
                verb = "updated"
            record_events(
                [
                    PendingEvent(
                        f"{self.event_aggregate}.{verb}",
                        str(self.pk),
                        self.version,
                        self.event_state(),
                    )
                ],
                using=using,
            )

    def event_state(self) -> EventData:
        raise NotImplementedError

    def republish(self, using: str | None = None) -> None:
        """Record the current state as a new version although no own column changed: for
        state that lives in other tables (an ordered list of related rows, say)."""
        using = using or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            models.QuerySet(type(self), using=using).filter(pk=self.pk).update(
                version=models.F("version") + 1
            )
            self.refresh_from_db(using=using)
            record_events(
                [
                    PendingEvent(
                        f"{self.event_aggregate}.updated",
                        str(self.pk),
                        self.version,
                        self.event_state(),
                    )
                ],
                using=using,
            )

    @classmethod
    def check(cls, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        if cls._meta.abstract:
            return errors
        for attr in ("event_aggregate", "published_fields"):
            if not hasattr(cls, attr):
                errors.append(
                    checks.Error(
                        f"{cls.__name__} must set {attr}", obj=cls, id="shared_events.E001"
                    )
                )
        for field in cls._meta.fields:
            on_delete = getattr(getattr(field, "remote_field", None), "on_delete", None)
            if on_delete in (models.SET_NULL, models.SET_DEFAULT) or (
                on_delete is not None and on_delete.__name__ == "set_on_delete"
            ):
                errors.append(
                    checks.Error(
                        f"{cls.__name__}.{field.name} uses on_delete={on_delete.__name__}: Django "
                        "applies it in raw SQL, so the change would skip the outbox",
                        hint="use PROTECT or CASCADE, or a service function that saves",
                        obj=cls,
                        id="shared_events.E002",
                    )
                )
        return errors


def _lock_version_before_delete(
    sender: type[PublishedModel], instance: PublishedModel, using: str, **_: Any
) -> None:
    current = (
        models.QuerySet(sender, using=using)
        .select_for_update()
        .filter(pk=instance.pk)
        .values_list("version", flat=True)
        .first()
    )
    instance._version_at_delete = current if current is not None else instance.version


def _record_deletion(
    sender: type[PublishedModel], instance: PublishedModel, using: str, **_: Any
) -> None:
    version = getattr(instance, "_version_at_delete", instance.version) + 1
    # Every aggregate's state has the tombstone flag; EventData, the declared type, does not.
    state = dataclasses.replace(instance.event_state(), deleted=True)  # type: ignore[call-arg]
    record_events(
        [PendingEvent(f"{sender.event_aggregate}.deleted", str(instance.pk), version, state)],
        using=using,
    )


def _connect_delete_signals(sender: type[models.Model], **_: Any) -> None:
    # Connected per model (not globally) so other models keep Django's fast bulk delete.
    if issubclass(sender, PublishedModel) and not sender._meta.abstract:
        pre_delete.connect(
            _lock_version_before_delete,
            sender=sender,
            weak=False,
            dispatch_uid=f"outbox-lock-{sender._meta.label}",
        )
        post_delete.connect(
            _record_deletion,
            sender=sender,
            weak=False,
            dispatch_uid=f"outbox-delete-{sender._meta.label}",
        )


class_prepared.connect(_connect_delete_signals)


def published_models() -> list[type[PublishedModel]]:
    from django.apps import apps

    return [m for m in apps.get_models() if issubclass(m, PublishedModel)]
