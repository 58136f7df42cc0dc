"""Read models that mirror another service's aggregates, guarded by the source version."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone


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
