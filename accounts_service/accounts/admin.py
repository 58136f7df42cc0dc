"""The accounts admin: operators manage accounts and adjust points through the services, so
every change they make reaches the other services through the outbox."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from . import services
from .models import Account, LedgerEntry
from .signin import ThrottledAdminAuthenticationForm


class AccountChangeForm(UserChangeForm):
    # No stake address here: only its holder's proof sets one (services/stake_proofs.py).
    class Meta:
        model = Account
        fields = ("email", "role", "is_active")

    def clean_email(self):
        email = self.cleaned_data.get("email")
        if not email:
            if self.instance.email:
                raise ValidationError("An account's email can be changed, not removed.")
            return None  # an account made by a wallet sign-in, still without one
        return services.normalize_email(email)


class AccountCreationForm(AdminUserCreationForm):
    class Meta:
        model = Account
        fields = ("email", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True  # only a wallet sign-in makes one without

    def clean_email(self):
        return services.normalize_email(self.cleaned_data["email"])


class LedgerAdjustmentFormSet(BaseInlineFormSet):
    """The rules of points_adjust, checked before anything is saved, so a refused adjustment
    is an error on its row rather than a save that silently did nothing."""

    def clean(self) -> None:
        super().clean()
        balance = self.instance.points
        for form in self.forms:
            if not form.has_changed() or form.instance.pk or not hasattr(form, "cleaned_data"):
                continue
            delta = form.cleaned_data.get("delta")
            if delta is None:
                continue
            if delta == 0:
                form.add_error("delta", "A change of 0 points changes nothing.")
            if not (form.cleaned_data.get("reason") or "").strip():
                form.add_error("reason", "Say why the points change.")
            balance += delta
            if balance < 0:
                form.add_error(
                    "delta", f"The account has {self.instance.points} points; it cannot go below 0."
                )


class LedgerEntryInline(admin.TabularInline):
    """Past entries are read-only; a new row is an adjustment with a reason."""

    model = LedgerEntry
    formset = LedgerAdjustmentFormSet
    fk_name = "account"
    extra = 1
    fields = ("created_at", "kind", "epoch", "delta", "balance_after", "reason", "created_by")
    readonly_fields = ("created_at", "kind", "epoch", "balance_after", "created_by")
    ordering = ("-created_at", "-id")
    verbose_name = "points change"
    verbose_name_plural = "points ledger (add a row to adjust points)"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# The admin's own sign-in counts failures like the API's token endpoint does.
admin.site.login_form = ThrottledAdminAuthenticationForm
# The index says which mode runs (the open mode lets one person earn with many accounts).
admin.site.index_template = "admin/accounts/index.html"


@admin.register(Account)
class AccountAdmin(UserAdmin):
    form = AccountChangeForm
    add_form = AccountCreationForm
    model = Account
    list_display = (
        "__str__",
        "role",
        "points",
        "is_active",
        "stake_address",
        "stake_address_verified_at",
        "date_joined",
    )
    list_filter = ("role", "is_active")
    search_fields = ("email", "stake_address")
    ordering = ("-date_joined",)
    readonly_fields = (
        "id",
        "stake_address",
        "stake_address_verified_at",
        "points",
        "date_joined",
        "last_login",
        "version",
    )
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Role and status", {"fields": ("role", "is_active")}),
        ("Cardano", {"fields": ("stake_address", "stake_address_verified_at", "points")}),
        ("History", {"fields": ("date_joined", "last_login", "version")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "role", "password1", "password2")}),
    )
    inlines = [LedgerEntryInline]
    actions = ("deactivate", "activate")

    def get_inlines(self, request: HttpRequest, obj):
        return self.inlines if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # accounts are deactivated, so ballots and the ledger keep their owner

    def save_model(self, request: HttpRequest, obj: Account, form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            account = services.account_register(
                email=data["email"], password=data.get("password1") or None, role=data["role"]
            )
            obj.pk, obj._state.adding = account.pk, False
            return
        # Each change through its service: deactivation also ends the account's sessions.
        if "is_active" in form.changed_data:
            services.account_set_active(account=obj, is_active=data["is_active"])
        if "role" in form.changed_data:
            services.account_set_role(account=obj, role=data["role"])
        if "email" in form.changed_data and data["email"]:
            services.account_update_profile(account=obj, email=data["email"])

    def save_formset(self, request: HttpRequest, form, formset, change) -> None:
        if formset.model is not LedgerEntry:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for entry_form in formset.forms:
            if not entry_form.has_changed() or entry_form.instance.pk:
                continue
            try:
                formset.new_objects.append(
                    services.points_adjust(
                        account=form.instance,
                        delta=entry_form.cleaned_data["delta"],
                        reason=entry_form.cleaned_data.get("reason", ""),
                        by=request.user,
                    )
                )
            except ValidationError as exc:
                messages.error(request, "; ".join(exc.messages))

    @admin.action(description="Deactivate the selected accounts")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset.exclude(pk=request.user.pk):
            services.account_set_active(account=account, is_active=False)
        self.message_user(request, "Deactivated.")

    @admin.action(description="Activate the selected accounts")
    def activate(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            services.account_set_active(account=account, is_active=True)
        self.message_user(request, "Activated.")


# The pool's stake history (accounts/chain): imported epochs, their rows, the file import.
from .chain import admin as chain_admin  # noqa: E402,F401

# Email notifications (accounts/notifications): choices, rounds and every notice sent.
from .notifications import admin as notifications_admin  # noqa: E402,F401
