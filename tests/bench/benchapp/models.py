from django.db import models
from django.utils import timezone


class BenchRow(models.Model):
    """A row the ceiling endpoint inserts (apis.py)."""

    caller = models.UUIDField()
    note = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"bench row {self.pk}"
