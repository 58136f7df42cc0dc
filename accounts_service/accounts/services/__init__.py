"""Writes to accounts_service's data, one module per subject. Views, the admin, commands and
tasks call these; nothing else saves an Account, so every change goes through the outbox the
same way."""

from .accounts import (
    account_change_password,
    account_change_standing,
    account_register,
    account_register_with_wallet,
    account_set_active,
    account_set_role,
    account_update_profile,
    normalize_email,
    operator_create,
)
from .accrual import AccrualReport, accrue_epoch_points
from .epoch_stake_events import epoch_stakes_publish_ready
from .points import points_adjust
from .stake_history import (
    EpochImport,
    SyncReport,
    epoch_stake_import,
    stake_history_sync,
    stake_snapshot_import,
)
from .stake_proofs import (
    stake_address_challenge_issue,
    stake_address_prove,
    stake_address_unlink,
    stake_challenges_purge_expired,
    wallet_challenge_issue,
    wallet_sign_in,
)
from .tokens import (
    admin_sso_ticket_issue,
    browser_sign_in,
    browser_token_issue,
    refresh_tokens_purge_expired,
    refresh_tokens_revoke_all,
    token_pair_issue,
    token_pair_sign_in,
    token_refresh,
    token_revoke,
)

__all__ = [
    "AccrualReport",
    "EpochImport",
    "SyncReport",
    "account_change_password",
    "account_change_standing",
    "account_register",
    "account_register_with_wallet",
    "account_set_active",
    "account_set_role",
    "account_update_profile",
    "accrue_epoch_points",
    "admin_sso_ticket_issue",
    "browser_sign_in",
    "browser_token_issue",
    "epoch_stake_import",
    "epoch_stakes_publish_ready",
    "normalize_email",
    "operator_create",
    "points_adjust",
    "refresh_tokens_purge_expired",
    "refresh_tokens_revoke_all",
    "stake_history_sync",
    "stake_snapshot_import",
    "stake_address_challenge_issue",
    "stake_address_prove",
    "stake_address_unlink",
    "stake_challenges_purge_expired",
    "token_pair_issue",
    "token_pair_sign_in",
    "token_refresh",
    "token_revoke",
    "wallet_challenge_issue",
    "wallet_sign_in",
]
