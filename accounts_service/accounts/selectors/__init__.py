"""Reads of accounts_service's data, one module per subject."""

from .accounts import account_get, account_list
from .ledger import ledger_for

__all__ = ["account_get", "account_list", "ledger_for"]
