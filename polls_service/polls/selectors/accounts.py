"""Reads of the replica of accounts_service's accounts: what operator rights here depend on."""

from __future__ import annotations

import uuid

from shared_events.kit.identity.standing import Standing

from ..models import AccountReplica


def account_standing(account_id: uuid.UUID) -> Standing | None:
    """Role and active flag from the replica of accounts (settings.ACCOUNT_STANDING)."""
    row = (
        AccountReplica.objects.filter(pk=account_id)
        .values_list("role", "is_active", "is_deleted")
        .first()
    )
    if row is None:
        return None
    role, is_active, is_deleted = row
    return Standing(role=role, is_active=is_active and not is_deleted)
