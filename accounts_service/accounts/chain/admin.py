"""The pool's stake history in the admin: the imported epochs and their rows, read-only (the
history is append-only), the chain source's state ("stale since …" when it fails) on every
page of it, and the `file` source's import: an operator uploads a db-sync export."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from shared_events.kit.errors import Conflict

from ..models import EpochStake, EpochStakeImport
from ..selectors import chain_status
from ..selectors.stake_history import sending_summary
from ..services import stake_snapshot_import
from .sources import StakeSnapshotFileError


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        _show_chain_status(request)
        return super().changelist_view(request, extra_context)


def _show_chain_status(request: HttpRequest) -> None:
    status = chain_status()
    level = messages.WARNING if status["stale_since"] or status["open_mode"] else messages.INFO
    messages.add_message(request, level, status["summary"])
    if status["newest_epoch"] is not None:
        messages.add_message(request, messages.INFO, sending_summary(status))


class StakeSnapshotForm(forms.Form):
    file = forms.FileField(
        help_text="CSV or JSON with stake_address, epoch, lovelace "
        "(optionally pool_id), as exported from db-sync."
    )
    epoch = forms.IntegerField(
        required=False,
        min_value=0,
        help_text="Only for a file of one epoch; required when the epoch "
        "has no delegators (a file without rows).",
    )


@admin.register(EpochStakeImport)
class EpochStakeImportAdmin(_ReadOnlyAdmin):
    list_display = ("epoch", "delegators", "total_ada", "sent", "source", "pool_id", "imported_at")
    list_filter = ("source",)
    list_select_related = ("publication",)
    change_list_template = "admin/accounts/epochstakeimport/change_list.html"

    @admin.display(description="sent to the other services")
    def sent(self, obj: EpochStakeImport) -> str:
        publication = getattr(obj, "publication", None)
        if publication is None:
            return "not yet: its loyalty window is not stored whole"
        return f"{publication} at {publication.recorded_at:%Y-%m-%d %H:%M}"

    @admin.display(description="total ada", ordering="total_lovelace")
    def total_ada(self, obj: EpochStakeImport) -> str:
        return f"{obj.total_lovelace / 1_000_000:,.6f}"

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="accounts_epochstakeimport_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest):
        form = StakeSnapshotForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                imported = stake_snapshot_import(stream=upload, epoch=form.cleaned_data["epoch"])
            except StakeSnapshotFileError as error:
                form.add_error("file", f"{upload.name}: {error}")
            except (Conflict, ImproperlyConfigured) as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                form.add_error(None, error)
            else:
                for result in imported:
                    self.message_user(request, result.describe().capitalize())
                return HttpResponseRedirect(reverse("admin:accounts_epochstakeimport_changelist"))
        return TemplateResponse(
            request,
            "admin/accounts/epochstakeimport/import_form.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": "Import a stake snapshot file",
            },
        )


@admin.register(EpochStake)
class EpochStakeAdmin(_ReadOnlyAdmin):
    list_display = ("epoch_id", "stake_address", "ada")
    list_filter = ("epoch",)
    search_fields = ("=stake_address",)
    show_full_result_count = False  # a count of every row of every epoch is slow and useless

    @admin.display(description="active stake (ada)", ordering="lovelace")
    def ada(self, obj: EpochStake) -> str:
        return f"{obj.lovelace / 1_000_000:,.6f}"
