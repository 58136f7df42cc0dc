"""The admin of payout transactions: operators record them for a finalized poll and, without
a chain source (CHAIN_SOURCE=file or none), confirm them by hand with a note. Every write goes
through `services.payouts`; a settled record is read-only and cannot be deleted."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from . import services
from .admin import ServiceErrorsAdmin, tx_link
from .models import Payout, Poll, PollStatus, lovelace_to_ada


class PayoutAddForm(forms.ModelForm):
    causes = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        help_text="the causes it pays; none selected: every cause not yet paid nor awaiting "
        "another pending transaction",
    )

    class Meta:
        model = Payout
        fields = ("poll", "tx_hash")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from .models import Cause

        self.fields["poll"].queryset = Poll.objects.filter(status=PollStatus.FINALIZED)
        self.fields["causes"].queryset = Cause.objects.filter(
            results__payout_lovelace__gt=0
        ).distinct()

    def clean_tx_hash(self) -> str:
        try:
            return services.payouts.tx_hash_checked(self.cleaned_data["tx_hash"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["tx_hash"]) from None

    def validate_unique(self) -> None:
        pass  # the service refuses a duplicate, saying where it is recorded


class PayoutConfirmForm(forms.ModelForm):
    confirm_by_hand = forms.BooleanField(
        required=False,
        help_text="only without a chain source (CHAIN_SOURCE=file or none): you checked the "
        "payment yourself; the record will say it was not verified on chain",
    )

    class Meta:
        model = Payout
        fields = ("note",)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("confirm_by_hand") and not services.payouts.chain_verifies():
            if not (cleaned.get("note") or "").strip():
                self.add_error("note", "say how you checked the payment")
        return cleaned


@admin.register(Payout)
class PayoutAdmin(ServiceErrorsAdmin):
    list_display = ("tx", "poll", "status", "verified", "confirmations", "recorded_at")
    list_filter = ("status", "verified")
    search_fields = ("tx_hash", "poll__title")
    readonly_fields = (
        "poll",
        "tx",
        "status",
        "verified",
        "confirmations",
        "finding",
        "lines_table",
        "recorded_at",
        "checked_at",
        "confirmed_at",
    )

    @admin.display(description="transaction")
    def tx(self, payout: Payout) -> str:
        return tx_link(payout.tx_hash)

    @admin.display(description="causes paid")
    def lines_table(self, payout: Payout) -> str:
        lines = payout.lines.select_related("cause").order_by("position")
        return format_html(
            "<table><thead><tr><th>cause</th><th>address</th><th>expected (ada)</th>"
            "<th>found (ada)</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        line.cause.title,
                        line.address,
                        f"{lovelace_to_ada(line.expected_lovelace):f}",
                        "-"
                        if line.found_lovelace is None
                        else f"{lovelace_to_ada(line.found_lovelace):f}",
                    )
                    for line in lines
                ),
            ),
        )

    def get_form(self, request: HttpRequest, obj: Payout | None = None, **kwargs: Any):
        kwargs["form"] = PayoutAddForm if obj is None else PayoutConfirmForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Payout | None = None):
        if obj is None:
            return ("poll", "tx_hash", "causes")
        fields = list(self.readonly_fields)
        if not obj.is_settled:
            fields += ["note", "confirm_by_hand"]
        else:
            fields.append("note")
        return fields

    def get_readonly_fields(self, request: HttpRequest, obj: Payout | None = None):
        if obj is None:
            return ()
        return (*self.readonly_fields, "note") if obj.is_settled else self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"poll": request.GET.get("poll")}

    def save_model(self, request, obj, form, change):
        # Through the service, like every other write.
        if not change:
            causes = form.cleaned_data.get("causes")
            saved = services.payout_record(
                poll=form.cleaned_data["poll"],
                tx_hash=form.cleaned_data["tx_hash"],
                causes=[c.pk for c in causes] if causes else None,
                recorded_by=_account_id(request.user),
            )
            obj.pk = saved.pk
            return
        if form.cleaned_data.get("confirm_by_hand"):
            services.payout_confirm_by_hand(payout=obj, note=form.cleaned_data["note"])

    def has_delete_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return False  # a record of money sent stays on record

    def has_change_permission(self, request: HttpRequest, obj: Payout | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj and obj.is_settled)


def _account_id(user: Any) -> uuid.UUID | None:
    """The operator's account id: the admin's users are named after it (admin SSO)."""
    try:
        return uuid.UUID(user.get_username())
    except (AttributeError, ValueError):
        return None
