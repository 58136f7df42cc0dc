"""Accounts (the identity of delegators and operators), the append-only points ledger, and the
challenges a delegator signs to prove a stake address."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.db.models.signals import pre_delete
from django.utils import timezone

from shared_events.core.outbox.published import PublishedModel, PublishedQuerySet
from shared_events.core.schemas.accounts import AccountState


class Role(models.TextChoices):
    OPERATOR = "operator", "operator"
    DELEGATOR = "delegator", "delegator"


# The last epoch an account has its points for, -1 before any (`accrued_through_epoch` NULL):
# what accrual orders and bounds its scan of the accounts owed an epoch by (`account_owed_idx`).
ACCRUED_THROUGH = Coalesce("accrued_through_epoch", models.Value(-1))


class AccountManager(BaseUserManager.from_queryset(PublishedQuerySet)):  # type: ignore[misc]
    """Creating accounts goes through `accounts.services`; these are for Django's own tools."""

    def create_user(self, email: str, password: str | None = None, **extra) -> Account:
        from .services import account_register

        return account_register(email=email, password=password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> Account:
        from .services import operator_create

        return operator_create(email=email, password=password)


class Account(AbstractBaseUser, PublishedModel):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # None for an account made by signing in with a wallet, until its holder adds one.
    email = models.EmailField(max_length=254, unique=True, null=True, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DELEGATOR)
    # Set only by a proof (services/stake_proofs.py), with the time of that proof. A value
    # without one is a claim from before proofs existed: it counts for nothing and is not
    # published (event_state).
    stake_address = models.CharField(max_length=120, unique=True, null=True, blank=True)
    stake_address_verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    points = models.PositiveBigIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The last epoch whose points this account has (or was not owed: the epoch it joined in).
    accrued_through_epoch = models.IntegerField(null=True, blank=True, editable=False)

    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    event_aggregate = "accounts.account"
    # What voting needs to decide eligibility and power; email and password stay here.
    published_fields = frozenset(
        {"role", "is_active", "points", "stake_address", "stake_address_verified_at"}
    )

    class Meta(PublishedModel.Meta):
        constraints = [
            models.UniqueConstraint(Lower("email"), name="account_email_ci_unique"),
            models.CheckConstraint(condition=models.Q(points__gte=0), name="account_points_gte_0"),
        ]
        indexes = [
            # Accrual's scan of the accounts owed an epoch (services.accrual): it reads owed
            # accounts only, so a chunk costs the same however many are already credited.
            models.Index(
                ACCRUED_THROUGH,
                models.F("id"),
                condition=models.Q(role=Role.DELEGATOR, is_active=True),
                name="account_owed_idx",
            ),
        ]
        ordering = ["date_joined"]

    def __str__(self) -> str:
        return self.email or self.stake_address or str(self.id)

    @property
    def has_proven_stake_address(self) -> bool:
        return bool(self.stake_address and self.stake_address_verified_at)

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR

    # The Django admin asks these; an active operator may do everything in it.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_operator

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    def event_state(self) -> AccountState:
        return AccountState(
            id=str(self.id),
            role=self.role,
            is_active=self.is_active,
            points=self.points,
            # Other services see only a proven address: an unproven one counts for nothing.
            stake_address=self.stake_address if self.has_proven_stake_address else None,
            joined_at=self.date_joined.isoformat(),
        )


class LedgerAppendOnlyError(Exception):
    """An attempt to change or delete a points ledger entry."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The points ledger is append-only: {what} is refused. Entries are never changed "
            "or deleted; record a correction as a new entry (accounts.services.points_adjust)."
        )


class LedgerEntryQuerySet(models.QuerySet):
    """Creating entries (`create`, `bulk_create`) works; changing or deleting them does not."""

    def update(self, **kwargs):
        raise LedgerAppendOnlyError("QuerySet.update() of ledger entries")

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise LedgerAppendOnlyError("QuerySet.bulk_update() of ledger entries")

    bulk_update.alters_data = True

    def delete(self):
        raise LedgerAppendOnlyError("QuerySet.delete() of ledger entries")

    delete.alters_data = True


class LedgerEntry(models.Model):
    """One change of an account's points. Never updated or deleted, which the model enforces
    (`save()` of an existing entry, `delete()`, and `update()`/`bulk_update()`/`delete()` of
    its querysets raise `LedgerAppendOnlyError`); the account's `points` is the running balance,
    kept in the same transaction. Raw SQL is the one way around it.

    Accounts are never hard-deleted: they are deactivated (`services.account_set_active`; the
    admin has no delete permission and no service deletes one), so ballots and the ledger keep
    their owner. Should an account with entries be deleted anyway, `on_delete=PROTECT` refuses
    it with `ProtectedError` before anything is deleted, and the `pre_delete` guard below would
    refuse a cascade too.
    """

    class Kind(models.TextChoices):
        INITIAL_GRANT = "initial_grant", "initial grant"
        EPOCH_ACCRUAL = "epoch_accrual", "epoch accrual"
        ADJUSTMENT = "adjustment", "operator adjustment"

    id = models.BigAutoField(primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delta = models.BigIntegerField()
    balance_after = models.PositiveBigIntegerField()
    epoch = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        Account, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    # The default manager, so related managers (`account.ledger`) have the guards too.
    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        constraints = [
            # An epoch is credited to an account once, however often or wherever accrual runs.
            models.UniqueConstraint(
                fields=["account", "epoch"],
                condition=models.Q(epoch__isnull=False),
                name="ledger_one_credit_per_epoch",
            ),
        ]
        indexes = [models.Index(fields=["account", "-created_at"], name="ledger_account_idx")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.delta:+d} {self.kind}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise LedgerAppendOnlyError("saving an existing ledger entry")
        # An insert even when a primary key was given, so that a new instance carrying an
        # existing entry's pk fails on the key instead of overwriting that entry.
        kwargs.setdefault("force_insert", True)
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise LedgerAppendOnlyError("deleting a ledger entry")

    delete.alters_data = True


def _refuse_ledger_deletion(sender, instance, **kwargs) -> None:
    # Cascades and collected deletions delete rows without calling Model.delete(); Django
    # sends this for each of them (and, with a receiver connected, never fast-deletes).
    raise LedgerAppendOnlyError("deleting a ledger entry")


pre_delete.connect(
    _refuse_ledger_deletion, sender=LedgerEntry, dispatch_uid="accounts-ledger-append-only"
)


class StakeHistoryAppendOnlyError(Exception):
    """An attempt to change or delete the stored stake history of the pool."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"The pool's stake history is append-only: {what} is refused. An "
            "epoch's active stake never changes on chain, so it is stored once."
        )


class _AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise StakeHistoryAppendOnlyError("QuerySet.update()")

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise StakeHistoryAppendOnlyError("QuerySet.bulk_update()")

    bulk_update.alters_data = True

    def delete(self):
        raise StakeHistoryAppendOnlyError("QuerySet.delete()")

    delete.alters_data = True


class _AppendOnlyModel(models.Model):
    objects = _AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise StakeHistoryAppendOnlyError("saving a stored row again")
        kwargs.setdefault("force_insert", True)  # a reused primary key fails, never overwrites
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise StakeHistoryAppendOnlyError("deleting a row")

    delete.alters_data = True


class EpochStakeImport(_AppendOnlyModel):
    """That the pool's whole active stake distribution of `epoch` is stored (its rows are the
    EpochStake rows of the epoch, written in the same transaction). An epoch is imported once:
    importing it again with the same rows changes nothing, with other rows is refused."""

    epoch = models.PositiveIntegerField(primary_key=True)
    pool_id = models.CharField(max_length=63)
    source = models.CharField(max_length=16)  # blockfrost, koios or file
    delegators = models.PositiveIntegerField()
    total_lovelace = models.PositiveBigIntegerField()
    # sha256 of the sorted rows: a second import of the epoch is compared without reading them.
    digest = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-epoch"]
        verbose_name = "imported epoch"

    def __str__(self) -> str:
        return f"epoch {self.epoch}"


class EpochStake(_AppendOnlyModel):
    """One delegator's active stake in the pool in one epoch, as the chain source gave it."""

    id = models.BigAutoField(primary_key=True)
    # No index of its own: the unique (epoch, stake_address) index leads with it.
    epoch = models.ForeignKey(
        EpochStakeImport,
        on_delete=models.PROTECT,
        db_column="epoch",
        db_index=False,
        related_name="stakes",
    )
    stake_address = models.CharField(max_length=120)
    lovelace = models.PositiveBigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["epoch", "stake_address"], name="epoch_stake_one_row_per_address"
            ),
        ]
        # Loyalty walks one address's epochs; the unique index serves one epoch's rows.
        indexes = [models.Index(fields=["stake_address", "epoch"], name="epoch_stake_address_idx")]
        ordering = ["epoch_id", "stake_address"]
        verbose_name = "delegator's stake in an epoch"
        verbose_name_plural = "delegators' stakes per epoch"

    def __str__(self) -> str:
        return f"{self.stake_address} in epoch {self.epoch_id}"


class EpochStakePublication(_AppendOnlyModel):
    """That the `accounts.epoch_stake` events of `epoch` (its rows with their loyalty, in
    `parts` parts) are in the outbox, recorded in the same transaction, once. An epoch gets
    them only when its loyalty is final: every epoch of its loyalty window (`loyalty_window`
    epochs ending at it) stored (services/epoch_stake_events.py)."""

    epoch = models.OneToOneField(
        EpochStakeImport,
        on_delete=models.PROTECT,
        primary_key=True,
        db_column="epoch",
        related_name="publication",
    )
    parts = models.PositiveIntegerField()
    loyalty_window = models.PositiveIntegerField()
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-epoch"]
        verbose_name = "epoch sent to the other services"
        verbose_name_plural = "epochs sent to the other services"

    def __str__(self) -> str:
        return f"epoch {self.epoch_id} in {self.parts} part{'' if self.parts == 1 else 's'}"


def _refuse_stake_history_deletion(sender, instance, **kwargs) -> None:
    raise StakeHistoryAppendOnlyError("deleting a row")


for _model in (EpochStakeImport, EpochStake, EpochStakePublication):
    pre_delete.connect(
        _refuse_stake_history_deletion,
        sender=_model,
        dispatch_uid=f"accounts-stake-history-append-only-{_model.__name__}",
    )


class ChainSyncState(models.Model):
    """The one row of the chain source's health: when it last answered in full, and since when
    it has not (`failing_since`, the "stale since" that status and the admin show). A lease keeps
    two beat ticks from syncing at once without holding a transaction over the network."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    source = models.CharField(max_length=16, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="chain_sync_one_row")]
        verbose_name = "chain source sync"

    def __str__(self) -> str:
        return f"chain source {self.source or 'none'}"


class RefreshToken(models.Model):
    """Issued refresh tokens, so that logout and rotation can revoke them."""

    jti = models.CharField(max_length=64, primary_key=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="refresh_tokens")
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="refresh_expires_idx")]

    def __str__(self) -> str:
        return f"refresh token of {self.account_id}"


class StakeAddressChallenge(models.Model):
    """A text to sign with a stake key, to link the address to `account` (Purpose.LINK) or to
    sign in as the holder of `stake_address` (Purpose.SIGN_IN). One use, for a few minutes."""

    class Purpose(models.TextChoices):
        LINK = "link", "link to an account"
        SIGN_IN = "sign_in", "sign in with a wallet"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    stake_address = models.CharField(max_length=120, blank=True, default="")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(purpose="link", account__isnull=False)
                | models.Q(purpose="sign_in", account__isnull=True) & ~models.Q(stake_address=""),
                name="stake_challenge_names_its_subject",
            ),
        ]
        indexes = [models.Index(fields=["expires_at"], name="stake_challenge_expires_idx")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} challenge {self.id}"

    @property
    def payload(self) -> bytes:
        return self.text.encode("utf-8")


# Email notifications (accounts/notifications): choices, replicas, rounds and notices.
from .notifications.models import (  # noqa: E402,F401
    Notice,
    NoticeCause,
    NoticeKind,
    NoticeParticipation,
    NoticePayout,
    NoticePoll,
    NoticeResult,
    NoticeRound,
    NotificationSettings,
)
