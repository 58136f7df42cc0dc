"""The polls admin: operators manage causes and funding rounds. Every write goes through
`polls.services`, so the admin follows the same rules as the API and every change is published;
a rule a change breaks is shown next to the field it is about."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from shared_events.kit.chain_mode import mode_summary
from shared_events.kit.charts import bar_chart
from shared_events.kit.errors import DomainError, NotFound

from . import selectors, services
from .models import FINAL_STATUSES, Cause, Poll, PollCause, PollStatus, lovelace_to_ada
from .payout_models import explorer_url
from .services.polls import CHANGEABLE

# The index says which mode runs (the open mode lets one person vote with many accounts).
admin.site.index_template = "admin/platform_mode_index.html"


def _file_errors(form: forms.BaseForm, exc: ValidationError | DomainError) -> None:
    """A service's errors next to the form's fields; the rest (a domain error's message among
    them) at the top of the form."""
    if isinstance(exc, DomainError):
        form.add_error(None, exc.message)
        return
    for field, messages_ in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def tx_link(tx_hash: str) -> str:
    """The transaction's id, linked to the explorer when PAYOUT_EXPLORER_URL is set."""
    url = explorer_url(tx_hash)
    short = f"{tx_hash[:16]}…"
    return format_html('<a href="{}" title="{}">{}</a>', url, tx_hash, short) if url else short


def _reason(exc: ValidationError | DomainError) -> str:
    """What a refused service call says, to show in a message."""
    return exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)


class ServiceErrorsAdmin(admin.ModelAdmin):
    """The forms check the rules before saving; should a rule still fail in the service (a
    concurrent change), the whole save is rolled back and the reason shown, not a 500."""

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (ValidationError, DomainError) as exc:
            self.message_user(request, f"Not saved: {_reason(exc)}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class CauseForm(forms.ModelForm):
    url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    image_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Cause
        fields = ("title", "description", "url", "image_url", "is_active", "payout_address")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk and "is_active" in cleaned:
            try:
                services.cause_check_deactivation(
                    cause=self.instance, is_active=cleaned["is_active"]
                )
            except (ValidationError, DomainError) as exc:
                _file_errors(self, exc)
        return cleaned


@admin.register(Cause)
class CauseAdmin(ServiceErrorsAdmin):
    form = CauseForm
    list_display = ("title", "is_active", "url", "payout_address", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("title", "description", "payout_address")
    fields = ("title", "description", "url", "image_url", "is_active", "payout_address")

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write.
        data = {f: form.cleaned_data[f] for f in services.CAUSE_FIELDS if f in form.cleaned_data}
        saved = (
            services.cause_update(cause=obj, **data) if change else services.cause_create(**data)
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # causes are deactivated, so past polls keep them


class PollCauseForm(forms.ModelForm):
    position = forms.IntegerField(
        required=False, min_value=0, help_text="lower first; blank puts it last"
    )

    class Meta:
        model = PollCause
        fields = ("cause", "position")

    def validate_unique(self) -> None:
        pass  # the list is checked as a whole by the service (rows are not saved one by one)


class PollCauseFormSet(forms.BaseInlineFormSet):
    def validate_unique(self) -> None:
        pass  # positions may be swapped freely; a cause listed twice is the service's error

    def new_cause_list(self) -> list[Any] | None:
        """The causes in their new order, or None if the operator changed nothing here."""
        kept = [
            f
            for f in self.forms
            if f.cleaned_data and f.cleaned_data.get("cause") and not self._should_delete_form(f)
        ]
        if not self.has_changed():
            return None
        unnumbered = 10**9  # blank positions go last, in the order they are listed
        ordered = sorted(
            enumerate(kept),
            key=lambda item: (
                item[1].cleaned_data.get("position")
                if item[1].cleaned_data.get("position") is not None
                else unnumbered,
                item[0],
            ),
        )
        return [form.cleaned_data["cause"].pk for _, form in ordered]

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        causes = self.new_cause_list()
        if causes is None:
            return
        poll = self.instance  # carries the main form's new values by now
        original = Poll.objects.filter(pk=poll.pk).first()
        changes = {f: getattr(poll, f) for f in services.POLL_FIELDS}
        try:
            services.poll_check_changes(poll=original, changes={**changes, "causes": causes})
        except ValidationError as exc:
            # Errors about the poll's own fields are shown by the poll's form already.
            own = set(services.POLL_FIELDS)
            problems = [m for field, ms in exc.message_dict.items() if field not in own for m in ms]
            if problems:
                raise ValidationError(problems) from None


class PollCauseInline(admin.TabularInline):
    model = PollCause
    form = PollCauseForm
    formset = PollCauseFormSet
    fields = ("cause", "position")
    ordering = ("position",)
    extra = 2
    verbose_name = "cause on offer"
    verbose_name_plural = "causes on offer (in display order; fixed once the poll opens)"

    def _changeable(self, obj: Poll | None) -> bool:
        return obj is None or "causes" in CHANGEABLE[PollStatus(obj.status)]

    def get_extra(self, request: HttpRequest, obj: Poll | None = None, **kwargs: Any) -> int:
        return self.extra if self._changeable(obj) else 0

    def has_add_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return self._changeable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return self._changeable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return self._changeable(obj) and super().has_delete_permission(request, obj)


class PollForm(forms.ModelForm):
    class Meta:
        model = Poll
        fields = services.POLL_FIELDS

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        original = Poll.objects.filter(pk=self.instance.pk).first()
        changes = {f: cleaned[f] for f in services.POLL_FIELDS if f in cleaned}
        if len(changes) < len(services.POLL_FIELDS) and original is None:
            return cleaned  # a field is already in error; the rest cannot be judged yet
        try:
            services.poll_check_changes(poll=original, changes=changes)
        except (ValidationError, DomainError) as exc:
            _file_errors(self, exc)
        return cleaned


@admin.register(Poll)
class PollAdmin(ServiceErrorsAdmin):
    form = PollForm
    inlines = [PollCauseInline]
    list_display = (
        "title",
        "status",
        "fund_ada",
        "opens_at",
        "closes_at",
        "results_visibility",
        "finalized_at",
    )
    list_filter = ("status", "results_visibility")
    search_fields = ("title", "description")
    date_hierarchy = "opens_at"
    actions = ("schedule", "close", "cancel", "download_results")
    results_fields = ("results_summary", "power_summary", "results_table", "results_chart")

    def get_fieldsets(self, request: HttpRequest, obj: Poll | None = None) -> list:
        return [
            (None, {"fields": ("id", "status", "title", "description")}),
            (
                "Fund and window",
                {"fields": ("fund_lovelace", "opens_at", "closes_at", "results_visibility")},
            ),
            # Said here, where a formula is chosen: the open mode refuses the stake ones.
            (
                "Voting power (fixed once the poll opens)",
                {
                    "fields": services.POWER_FIELDS,
                    "description": f"This platform runs in {mode_summary()}.",
                },
            ),
            ("Results", {"fields": self.results_fields}),
            ("History", {"fields": ("created_at", "updated_at", "version")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Poll | None = None) -> list[str]:
        fixed = ["id", "status", "created_at", "updated_at", "version", *self.results_fields]
        if obj is not None:
            changeable = CHANGEABLE[PollStatus(obj.status)]
            fixed += [f for f in services.POLL_FIELDS if f not in changeable]
        return fixed

    def has_delete_permission(self, request: HttpRequest, obj: Poll | None = None) -> bool:
        return False  # cancel instead: voting and past results keep the poll

    @admin.display(description="fund (ada)", ordering="fund_lovelace")
    def fund_ada(self, poll: Poll) -> str:
        return f"{poll.fund_ada:,f}"

    @admin.display(description="summary")
    def results_summary(self, poll: Poll) -> str:
        if poll.pk is None or poll.status not in FINAL_STATUSES:
            return {
                PollStatus.CLOSED: "Closed: waiting for voting's final count.",
                PollStatus.CLOSING: "Closing: voting takes ballots until closes_at (later "
                "if it hears late), then sends its final count with when it stopped.",
                PollStatus.CANCELLED: "Cancelled: no results.",
            }.get(poll.status, "The results are computed when the poll is finalized.")
        csv_url = reverse("admin:polls_poll_results_csv", args=[poll.pk])
        record_url = f"{reverse('admin:polls_payout_add')}?poll={poll.pk}"
        return format_html(
            "Finalized {}: {} points from {} ballots. {}<br>Ballots digest: <code>{}</code>"
            "<br>Receipts digest: <code>{}</code>"
            '<br><a href="{}">Download the results (CSV)</a>'
            '<br>{} <a href="{}">Record a payout transaction</a>',
            poll.finalized_at,
            poll.total_points,
            poll.ballot_count,
            "Nobody allocated points, so there are no payouts."
            if poll.no_payouts
            else f"{poll.fund_ada:,f} ada paid out.",
            poll.ballots_digest or "-",
            poll.receipts_digest or "-",
            csv_url,
            "Paid: every cause's payout is confirmed."
            if poll.status == PollStatus.PAID
            else "Payouts: see the state per cause below.",
            record_url,
        )

    @admin.display(description="voting power")
    def power_summary(self, poll: Poll) -> str:
        if poll.pk is None or poll.status in (
            PollStatus.DRAFT,
            PollStatus.SCHEDULED,
            PollStatus.CANCELLED,
        ):
            return "-"
        results = selectors.poll_results_for_operator(poll=poll)
        unknown = "not known yet"
        return format_html(
            "{} ({}), snapshot epoch {}: {} eligible delegators, {} voting power in all{}.",
            results.power_formula,
            "final" if results.final else "as voting counts it so far",
            results.snapshot_epoch if results.snapshot_epoch is not None else unknown,
            results.eligible if results.eligible is not None else unknown,
            results.total_power if results.total_power is not None else unknown,
            f", {results.total_points} of it allocated" if results.total_power is not None else "",
        )

    @admin.display(description="per cause")
    def results_table(self, poll: Poll) -> str:
        rows = (
            list(selectors.poll_final_results(poll=poll)) if poll.status in FINAL_STATUSES else []
        )
        if not rows:
            return "-"
        payouts = selectors.cause_payouts(poll=poll)
        return format_html(
            "<table><thead><tr><th>cause</th><th>points</th><th>voters</th><th>share</th>"
            "<th>payout (lovelace)</th><th>payout (ada)</th><th>payout transaction</th>"
            "<th>state</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td></tr>",
                (
                    (
                        r.cause.title,
                        r.points,
                        r.voters,
                        f"{r.share:f}",
                        r.payout_lovelace,
                        f"{lovelace_to_ada(r.payout_lovelace):f}",
                        tx_link(payouts[r.cause_id].tx_hash) if r.cause_id in payouts else "-",
                        payouts[r.cause_id].status
                        if r.cause_id in payouts
                        else "unpaid"
                        if r.payout_lovelace
                        else "nothing to pay",
                    )
                    for r in rows
                ),
            ),
        )

    @admin.display(description="chart")
    def results_chart(self, poll: Poll) -> str:
        if poll.pk is None or poll.status in (PollStatus.DRAFT, PollStatus.SCHEDULED):
            return "-"
        results = selectors.poll_results_for_operator(poll=poll)
        charts = [
            bar_chart(
                [(c.title, c.points) for c in results.causes],
                title="Final points per cause"
                if results.final
                else "Points per cause so far (live tally)",
                unit="points",
            )
        ]
        if results.final and not results.no_payouts:
            charts.append(
                bar_chart(
                    [(c.title, lovelace_to_ada(c.payout_lovelace or 0)) for c in results.causes],
                    title="Payout per cause",
                    unit="ada",
                )
            )
        return format_html_join("", "<div>{}</div>", ((chart,) for chart in charts))

    def save_model(self, request: HttpRequest, obj: Poll, form, change: bool) -> None:
        pass  # saved with its causes in save_related: one service call, one event

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        causes = None
        for formset in formsets:
            if isinstance(formset, PollCauseFormSet):
                causes = formset.new_cause_list()
            # Nothing is saved row by row; the change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        fields = {f: form.cleaned_data[f] for f in services.POLL_FIELDS if f in form.cleaned_data}
        if not change:
            poll = services.poll_create(**fields, causes=causes or [])
            form.instance.pk, form.instance._state.adding = poll.pk, False
            return
        changes = {f: v for f, v in fields.items() if f in form.changed_data}
        if causes is not None:
            changes["causes"] = causes
        services.poll_update(poll=form.instance, **changes)

    def _transition(
        self, request: HttpRequest, queryset: QuerySet[Poll], service, done: str
    ) -> None:
        succeeded = 0
        for poll in queryset:
            try:
                service(poll=poll)
                succeeded += 1
            except (ValidationError, DomainError) as exc:
                self.message_user(request, f"“{poll}” not {done}: {_reason(exc)}", messages.ERROR)
        if succeeded:
            self.message_user(request, f"{succeeded} poll(s) {done}.", messages.SUCCESS)

    @admin.action(description="Schedule the selected polls (they open at their opening time)")
    def schedule(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        self._transition(request, queryset, services.poll_schedule, "scheduled")

    @admin.action(description="Close the selected open polls (after a grace of seconds)")
    def close(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        self._transition(request, queryset, services.poll_close, "closing")

    @admin.action(description="Cancel the selected polls")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Poll]) -> None:
        self._transition(request, queryset, services.poll_cancel, "cancelled")

    @admin.action(description="Download the results of the selected finalized polls (CSV)")
    def download_results(self, request: HttpRequest, queryset: QuerySet[Poll]) -> HttpResponse:
        return _csv_response(
            queryset.filter(status__in=FINAL_STATUSES).order_by("opens_at"), "poll-results.csv"
        )

    def get_urls(self):
        return [
            path(
                "<uuid:poll_id>/results.csv",
                self.admin_site.admin_view(self.results_csv_view),
                name="polls_poll_results_csv",
            ),
            *super().get_urls(),
        ]

    def results_csv_view(self, request: HttpRequest, poll_id) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        try:
            poll = selectors.poll_get(poll_id=poll_id, include_drafts=True)
        except NotFound as exc:
            raise Http404(exc.message) from None  # the admin's own not-found page
        return _csv_response([poll], f"poll-{poll.pk}-results.csv")


def _csv_response(polls, filename: str) -> HttpResponse:
    response = HttpResponse(selectors.results_csv(polls), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# The payout records' admin, in a module of its own; imported so it registers.
from . import payout_admin  # noqa: E402, F401
