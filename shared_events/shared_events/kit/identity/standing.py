"""An account's role and active flag as this service's replica of accounts last saw them.

A token's `role` claim is what accounts said when it signed the token, up to its lifetime ago.
polls_service and voting_service keep a replica of every account's role and active flag (their
consumers apply accounts' events), and that replica, not the claim, decides operator rights:
a demotion or a deactivation takes effect within the replication lag, not at token expiry.

An account the replica has never heard of (a brand-new one, before its first event is applied)
keeps what its token says until the replica knows it. That cannot hide a demotion: accounts
publishes an account's full state on every change, in order on its own subject, so the first of
its events the replica applies already carries the current role; until then the replica lags
for that account as it does for any other.

The service names its lookup in the setting ACCOUNT_STANDING (a dotted path to a function of
the account id returning a `Standing` or None); without it (accounts_service, which reads its
own table) the token's claims stand.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

OPERATOR = "operator"


@dataclasses.dataclass(frozen=True)
class Standing:
    role: str
    is_active: bool  # false for a deactivated or a deleted account

    @property
    def is_operator(self) -> bool:
        return self.is_active and self.role == OPERATOR


@functools.lru_cache(maxsize=4)
def _lookup(path: str) -> Callable[[uuid.UUID], Standing | None]:
    return import_string(path)


def account_standing(account_id: uuid.UUID) -> Standing | None:
    """The replica's word on this account, or None when it does not know the account (or this
    service keeps no replica)."""
    path = getattr(settings, "ACCOUNT_STANDING", None)
    return _lookup(path)(account_id) if path else None
