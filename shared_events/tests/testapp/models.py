import uuid

from django.db import models

from shared_events.core.consumer.replicas import ReplicaModel
from shared_events.core.outbox.published import PublishedModel

from .events import SprocketState, WidgetState


class Widget(PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=20, default="red")
    note = models.CharField(max_length=100, blank=True, default="")  # private to this service

    event_aggregate = "testing.widget"
    published_fields = frozenset({"name", "color"})

    def event_state(self) -> WidgetState:
        return WidgetState(id=str(self.id), name=self.name, color=self.color)


class Sprocket(PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    widget = models.ForeignKey(Widget, on_delete=models.CASCADE, related_name="sprockets")
    teeth = models.PositiveIntegerField(default=12)

    event_aggregate = "testing.sprocket"
    published_fields = frozenset({"widget", "teeth"})

    def event_state(self) -> SprocketState:
        return SprocketState(id=str(self.id), widget_id=str(self.widget_id), teeth=self.teeth)


class WidgetReplica(ReplicaModel):
    id = models.UUIDField(primary_key=True)
    name = models.CharField(max_length=100)
    color = models.CharField(max_length=20)
