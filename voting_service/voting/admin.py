"""Operators look, they do not edit: replicas belong to other services, ballots to the voters
who cast them (through the API, with its rules), and tallies are computed."""

from __future__ import annotations

import uuid

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from shared_events.kit.chain_mode import mode_summary
from shared_events.kit.charts import bar_chart, step_chart

from .models import (
    Allocation,
    Ballot,
    BallotRevision,
    CauseReplica,
    EpochStakePartReplica,
    PollPowerTable,
    PollReplica,
    PollTally,
    Voter,
)
from .selectors.exports import ballots_csv
from .selectors.participation import participation_over_time
from .selectors.power import power_summary, power_table_csv
from .selectors.tallies import tally_compute

# The index says which mode runs (the open mode lets one person vote with many accounts).
admin.site.index_template = "admin/platform_mode_index.html"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Voter)
class VoterAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "role",
        "is_active",
        "points",
        "stake_address",
        "source_version",
        "replicated_at",
    )
    list_filter = ("role", "is_active", "is_deleted")
    search_fields = ("id", "stake_address")


@admin.register(CauseReplica)
class CauseReplicaAdmin(ReadOnlyAdmin):
    list_display = ("title", "is_active", "source_version", "replicated_at")
    list_filter = ("is_active", "is_deleted")
    search_fields = ("title",)


@admin.register(PollReplica)
class PollReplicaAdmin(ReadOnlyAdmin):
    list_display = (
        "title",
        "status",
        "opens_at",
        "closes_at",
        "results_visibility",
        "power_formula",
        "snapshot_epoch",
        "source_version",
        "replicated_at",
    )
    list_filter = ("status", "results_visibility", "power_formula", "is_deleted")
    search_fields = ("id", "title")
    actions = ("download_ballots", "download_power_table")
    readonly_fields = ("voting_power", "participation_chart", "points_chart")

    @admin.display(description="voting power")
    def voting_power(self, poll: PollReplica) -> str:
        """The mode the platform runs in and what this poll's power is, frozen or not yet; the
        table itself is the "Download the frozen power table" action."""
        summary = power_summary(poll=poll)
        if summary.eligible is None:
            state = "not computed yet (its snapshot epoch's stake is not complete here)"
        else:
            state = (
                f"{summary.power_formula}, snapshot epoch {summary.snapshot_epoch}: "
                f"{summary.eligible} eligible, total power {summary.total_power}"
            )
        return f"{mode_summary()}. This poll: {state}."

    @admin.display(description="participation")
    def participation_chart(self, poll: PollReplica) -> str:
        return step_chart(
            participation_over_time(poll=poll), title="Ballots standing over time", unit="ballots"
        )

    @admin.display(description="points per cause")
    def points_chart(self, poll: PollReplica) -> str:
        titles = dict(CauseReplica.objects.values_list("id", "title"))
        tally = tally_compute(poll=poll)
        return bar_chart(
            [
                (titles.get(uuid.UUID(c["cause_id"]), c["cause_id"]), c["points"])
                for c in tally.causes
            ],
            title="Points per cause (live count)",
            unit="points",
        )

    @admin.action(description="Download the ballots of the selected polls (CSV, pseudonymous)")
    def download_ballots(
        self, request: HttpRequest, queryset: QuerySet[PollReplica]
    ) -> HttpResponse:
        response = HttpResponse(
            ballots_csv(queryset.order_by("opens_at")), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="ballots.csv"'
        return response

    @admin.action(description="Download the frozen power table of the selected poll (CSV)")
    def download_power_table(
        self, request: HttpRequest, queryset: QuerySet[PollReplica]
    ) -> HttpResponse | None:
        polls = list(queryset[:2])
        if len(polls) != 1:
            self.message_user(
                request, "Select one poll: its table is one file.", level=messages.WARNING
            )
            return None
        response = HttpResponse(
            power_table_csv(poll=polls[0]), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="power-{polls[0].pk}.csv"'
        return response


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ("position", "cause_id", "points")
    verbose_name_plural = "current allocations"


class BallotRevisionInline(ReadOnlyInline):
    model = BallotRevision
    fields = (
        "number",
        "kind",
        "allocations",
        "total_points",
        "voter_points",
        "created_at",
        "receipt",
    )
    verbose_name_plural = "revisions (every cast and retraction)"


@admin.register(Ballot)
class BallotAdmin(ReadOnlyAdmin):
    list_display = ("id", "poll", "voter_id", "revision", "retracted_at", "updated_at")
    list_filter = (("retracted_at", admin.EmptyFieldListFilter), "poll__status")
    # A voter asking about a receipt: "=" matches any revision's receipt exactly (indexed).
    search_fields = ("id", "voter__id", "poll__title", "poll__id", "=revisions__receipt")
    list_select_related = ("poll",)
    readonly_fields = (
        "id",
        "poll",
        "voter",
        "revision",
        "receipt",
        "retracted_at",
        "created_at",
        "updated_at",
    )
    inlines = (AllocationInline, BallotRevisionInline)
    # A poll may have many thousands of ballots: no full count, no voter dropdown.
    show_full_result_count = False


@admin.register(PollTally)
class PollTallyAdmin(ReadOnlyAdmin):
    list_display = ("poll", "final", "ballots", "total_points", "version", "computed_at")
    list_filter = ("final",)
    search_fields = ("poll__title", "poll__id")
    list_select_related = ("poll",)
    readonly_fields = (
        "poll",
        "final",
        "ballots",
        "total_points",
        "causes",
        "ballots_digest",
        "receipts_digest",
        "closes_at",
        "version",
        "computed_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PollTally]:
        return super().get_queryset(request).select_related("poll")


@admin.register(PollPowerTable)
class PollPowerTableAdmin(ReadOnlyAdmin):
    """A poll's frozen power (chain mode); the rows are in the poll's CSV download."""

    list_display = (
        "poll",
        "power_formula",
        "snapshot_epoch",
        "min_stake_lovelace",
        "cap_percent",
        "uncapped_total",
        "cap",
        "frozen_at",
    )
    list_select_related = ("poll",)
    search_fields = ("poll__title", "poll__id")


@admin.register(EpochStakePartReplica)
class EpochStakePartAdmin(ReadOnlyAdmin):
    """The parts of the pool's stake distribution replicated here, per epoch."""

    list_display = ("epoch", "part", "parts", "pool_id", "source_version", "replicated_at")
    list_filter = ("epoch",)
