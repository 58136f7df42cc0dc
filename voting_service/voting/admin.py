"""Replicas are read-only here: their source of truth is another service."""

from django.contrib import admin

from .models import CauseReplica, Voter


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Voter)
class VoterAdmin(ReadOnlyAdmin):
    list_display = ("id", "role", "is_active", "points", "stake_address", "source_version",
                    "replicated_at")
    list_filter = ("role", "is_active", "is_deleted")
    search_fields = ("id", "stake_address")


@admin.register(CauseReplica)
class CauseReplicaAdmin(ReadOnlyAdmin):
    list_display = ("title", "is_active", "source_version", "replicated_at")
    list_filter = ("is_active", "is_deleted")
    search_fields = ("title",)
