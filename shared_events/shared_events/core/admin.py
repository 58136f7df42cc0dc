"""Operators see the outbox backlog and the dead letters, and replay a dead letter once fixed."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .consumer.apply import ReplayError, replay_dead_letter
from .consumer.models import DeadLetter
from .outbox.models import OutboxEvent


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("stream", "stream_seq", "event_type", "status", "deliveries", "created_at")
    list_filter = ("status", "stream", "event_type")
    search_fields = ("event_id", "subject", "event_type")
    readonly_fields = [f.name for f in DeadLetter._meta.fields if f.name != "payload"] + [
        "payload_text"
    ]
    exclude = ("payload",)
    actions = ("replay", "discard")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay the selected dead letters")
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        for dead_letter in queryset:
            try:
                note = replay_dead_letter(dead_letter)
                self.message_user(request, f"{dead_letter}: {note}", messages.SUCCESS)
            except ReplayError as exc:
                self.message_user(request, f"{dead_letter}: {exc}", messages.ERROR)

    @admin.action(description="Discard the selected dead letters")
    def discard(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        from django.utils import timezone

        n = queryset.filter(status=DeadLetter.Status.DEAD).update(
            status=DeadLetter.Status.DISCARDED, resolved_at=timezone.now()
        )
        self.message_user(request, f"discarded {n}")


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = (
        "seq",
        "event_type",
        "aggregate_id",
        "aggregate_version",
        "created_at",
        "published_at",
        "attempts",
    )
    list_filter = ("event_type", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("aggregate_id", "event_id")
    exclude = ("payload",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
