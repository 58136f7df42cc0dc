"""Django looks for models here; they live next to the code that uses them."""

from .consumer.models import DeadLetter, ProcessedEvent
from .outbox.models import OutboxEvent

__all__ = ["DeadLetter", "OutboxEvent", "ProcessedEvent"]
