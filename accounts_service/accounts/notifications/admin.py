"""Notifications in the admin: each delegator's choices, the rounds (one poll, one kind) and
every notice with its state. Read-only: changes go through the delegators' API, and a notice's
record is the proof it went (or why not)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from ..models import Notice, NoticeRound, NotificationSettings


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(_ReadOnlyAdmin):
    list_display = (
        "account",
        "confirmed_email",
        "confirmed_at",
        "poll_opened",
        "closing_soon",
        "results",
        "paid",
        "updated_at",
    )
    list_filter = ("poll_opened", "closing_soon", "results", "paid")
    search_fields = ("account__email", "confirmed_email")
    list_select_related = ("account",)


@admin.register(NoticeRound)
class NoticeRoundAdmin(_ReadOnlyAdmin):
    list_display = ("poll_id", "kind", "created_at", "planned_at", "recipients")
    list_filter = ("kind",)
    search_fields = ("poll_id",)


@admin.register(Notice)
class NoticeAdmin(_ReadOnlyAdmin):
    list_display = ("account", "email", "kind", "poll_id", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("account__email", "email", "poll_id")
    list_select_related = ("account",)
    date_hierarchy = "created_at"
