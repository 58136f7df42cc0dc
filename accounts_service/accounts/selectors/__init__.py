"""Reads of accounts_service's data, one module per subject."""

from .accounts import account_get, account_list, accrual_last_epoch
from .ledger import ledger_for
from .stake_history import (
    chain_source_staleness,
    chain_status,
    epoch_stake_distribution,
    epoch_stake_newest,
    epoch_stake_with_loyalty,
)

__all__ = [
    "account_get",
    "account_list",
    "accrual_last_epoch",
    "chain_source_staleness",
    "chain_status",
    "epoch_stake_distribution",
    "epoch_stake_newest",
    "epoch_stake_with_loyalty",
    "ledger_for",
]
